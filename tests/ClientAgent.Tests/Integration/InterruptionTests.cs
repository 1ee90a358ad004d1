using System.Diagnostics;
using Azure.Storage.Blobs.Specialized;
using FedTune.ClientAgent.Configuration;
using FedTune.ClientAgent.Execution;
using FedTune.ClientAgent.Tests.Support;
using FedTune.ClientAgent.Work;
using FedTune.Core.Protocol;
using FedTune.TestSupport;

namespace FedTune.ClientAgent.Tests.Integration;

/// <summary>A task stops cleanly, without uploading, when its lease is lost or the agent is asked to stop.</summary>
[Collection(AzuriteTestGroup.Name)]
public sealed class InterruptionTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task A_task_whose_lease_is_lost_stops_without_uploading()
    {
        using var bed = new AgentTestBed(azurite);
        await bed.WriteTaskAsync(1, await bed.PublishGlobalAdapterAsync(), recipe: AgentTestBed.Recipe(maxSteps: 3));
        var pending = await bed.SingleOpenTaskAsync();
        var options = bed.Options();
        options.FaultInjection.PauseAt = FaultPoint.Training;
        var (runner, workspace, _, log) = bed.Runner(options);
        using (workspace)
        {
            var running = runner.RunAsync(pending, CancellationToken.None);
            var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(1);
            while (!log.Lines.Any(l => l.Contains(FaultInjection.PausedLogText, StringComparison.Ordinal)))
            {
                Assert.True(DateTime.UtcNow < deadline, string.Join("\n", log.Lines));
                await Task.Delay(50);
            }

            // Someone else breaks the lease (as an operator or another instance after expiry would).
            await bed.Store.Blob(pending.LockBlob).GetBlobLeaseClient().BreakAsync(TimeSpan.Zero);

            Assert.Equal(TaskOutcome.Interrupted, await running.WaitAsync(TimeSpan.FromSeconds(30)));
        }

        Assert.Contains(log.Lines, l => l.Contains("Lost the lease", StringComparison.Ordinal));
        Assert.Null(await bed.ManifestAsync(1));
        Assert.DoesNotContain(await bed.HospitalBlobsAsync(), b => b.Name.Contains("/update/", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Sigterm_during_training_stops_within_the_shutdown_timeout_and_keeps_the_checkpoint()
    {
        using var bed = new AgentTestBed(azurite);
        await bed.WriteTaskAsync(1, await bed.PublishGlobalAdapterAsync(), recipe: AgentTestBed.Recipe(maxSteps: 3));
        var options = bed.Options();
        options.FaultInjection.PauseAt = FaultPoint.Training;
        options.ShutdownTimeout = TimeSpan.FromSeconds(10);
        using var agent = AgentProcess.Start(AgentTestBed.CommandLine(options));
        await agent.WaitForOutputAsync(FaultInjection.PausedLogText, TimeSpan.FromMinutes(2));

        var watch = Stopwatch.StartNew();
        using (var term = Process.Start("kill", ["-TERM", agent.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await term.WaitForExitAsync();
        }

        Assert.Equal(0, await agent.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.True(watch.Elapsed < options.ShutdownTimeout, $"stopping took {watch.Elapsed}");
        Assert.Contains("interrupted (stopping)", agent.Output, StringComparison.Ordinal);
        var folder = TaskWorkFolder.For(options.WorkPath, BlobLayout.HospitalRoundFolder(bed.RunId, 1));
        Assert.Equal(TaskPhase.Downloaded, folder.ReadState()!.Phase);
        Assert.NotEmpty(Directory.GetDirectories(folder.CheckpointFolder));
        Assert.Null(await bed.ManifestAsync(1));
    }
}
