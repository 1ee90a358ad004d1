using FedTune.ClientAgent.Configuration;
using FedTune.ClientAgent.Execution;
using FedTune.ClientAgent.Tests.Support;
using FedTune.ClientAgent.Work;
using FedTune.Core.Adapters;
using FedTune.Core.Protocol;
using FedTune.TestSupport;

namespace FedTune.ClientAgent.Tests.Integration;

/// <summary>
/// The agent process is killed with SIGKILL during download, training and upload, then started again: the task
/// completes exactly once, with the same adapter an uninterrupted run produces.
/// </summary>
[Collection(AzuriteTestGroup.Name)]
public sealed class AgentCrashTests(AzuriteFixture azurite)
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(3);

    [Theory]
    [InlineData(FaultPoint.Download)]
    [InlineData(FaultPoint.Training)]
    [InlineData(FaultPoint.Upload)]
    public async Task Killed_during_a_phase_and_restarted_the_agent_completes_the_task_exactly_once(FaultPoint point)
    {
        using var bed = new AgentTestBed(azurite);
        var global = await bed.PublishGlobalAdapterAsync();
        var recipe = AgentTestBed.Recipe(maxSteps: 3);
        var task = await bed.WriteTaskAsync(1, global, recipe: recipe);
        var options = bed.Options();
        options.ExitAfterTasks = 1;
        options.FaultInjection.PauseAt = point;
        var folder = TaskWorkFolder.For(options.WorkPath, BlobLayout.HospitalRoundFolder(bed.RunId, 1));

        using (var doomed = AgentProcess.Start(AgentTestBed.CommandLine(options)))
        {
            await doomed.WaitForOutputAsync(FaultInjection.PausedLogText, Patience);
            await doomed.KillHardAsync();
        }

        var crashed = folder.ReadState()!;
        switch (point)
        {
            case FaultPoint.Download:
                Assert.Equal(TaskPhase.New, crashed.Phase);
                Assert.True(File.Exists(folder.GlobalAdapterPartialFile));
                break;
            case FaultPoint.Training:
                Assert.Equal(TaskPhase.Downloaded, crashed.Phase);
                Assert.NotEmpty(Directory.GetDirectories(folder.CheckpointFolder));
                break;
            case FaultPoint.Upload:
                Assert.Equal(TaskPhase.AdapterUploaded, crashed.Phase);
                break;
        }

        Assert.Null(await bed.ManifestAsync(1));

        options.FaultInjection.PauseAt = FaultPoint.None;
        using (var restarted = AgentProcess.Start(AgentTestBed.CommandLine(options)))
        {
            Assert.Equal(0, await restarted.WaitForExitAsync(Patience));
            if (point == FaultPoint.Training)
            {
                Assert.Contains("resumed from step 1", restarted.Output, StringComparison.Ordinal);
            }
        }

        var manifest = await bed.ManifestAsync(1);
        Assert.NotNull(manifest);
        Assert.Null(await bed.MarkerAsync(1));
        Assert.Equal(3, manifest.Metrics.StepsDone);
        var adapters = (await bed.HospitalBlobsAsync()).Where(b => b.Name.StartsWith(task.UpdateFolder + "adapter-", StringComparison.Ordinal)).ToList();
        var uploaded = Assert.Single(adapters);
        Assert.Equal(manifest.Adapter.Blob.Name, uploaded.Name);
        Assert.Equal(manifest.Adapter.Sha256, ContentHash.Compute(uploaded.Bytes));
        Assert.Equal(TaskPhase.Completed, folder.ReadState()!.Phase);

        // The same task (same seed, data and global adapter) done without interruption gives the same adapter.
        await bed.WriteTaskAsync(2, global, recipe: recipe, seed: task.Seed);
        var (runner, workspace, _, _) = bed.Runner(bed.Options("reference-work"));
        using (workspace)
        {
            var reference = (await new Tasks.TaskScanner(bed.Store, bed.HospitalId).FindOpenTasksAsync(default)).Single();
            Assert.Equal(TaskOutcome.Completed, await runner.RunAsync(reference, CancellationToken.None));
        }

        var expected = AdapterWireFormat.Read(new MemoryStream((await bed.Store.TryReadAllBytesAsync((await bed.ManifestAsync(2))!.Adapter.Blob))!));
        var actual = AdapterWireFormat.Read(new MemoryStream(uploaded.Bytes));
        Assert.Equal(expected.Names, actual.Names);
        foreach (var tensor in expected.Tensors)
        {
            var other = actual[tensor.Name].Data;
            for (int i = 0; i < tensor.Data.Length; i++)
            {
                Assert.True(Math.Abs(tensor.Data[i] - other[i]) <= 1e-5f, $"{tensor.Name}[{i}]: {tensor.Data[i]} vs {other[i]}");
            }
        }
    }
}
