using FedTune.ClientAgent.Hosting;
using FedTune.ClientAgent.Status;
using FedTune.ClientAgent.Tests.Support;
using FedTune.ClientAgent.Work;
using FedTune.Core.Protocol;
using FedTune.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace FedTune.ClientAgent.Tests.Integration;

/// <summary>Two agent instances of one hospital (separate machines: separate work folders) and one task.</summary>
[Collection(AzuriteTestGroup.Name)]
public sealed class LeaseContentionTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task Two_agents_of_one_hospital_train_a_task_exactly_once()
    {
        using var bed = new AgentTestBed(azurite);
        var task = await bed.WriteTaskAsync(1, await bed.PublishGlobalAdapterAsync(), recipe: AgentTestBed.Recipe(maxSteps: 3));
        var options = new[] { bed.Options("work-a"), bed.Options("work-b") };
        var hosts = options.Select(o => AgentHost.CreateBuilder(AgentTestBed.CommandLine(o).ToArray()).Build()).ToList();
        try
        {
            await Task.WhenAll(hosts.Select(h => h.StartAsync()));
            var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
            while (await bed.ManifestAsync(1) is null && DateTime.UtcNow < deadline) await Task.Delay(200);
            Assert.NotNull(await bed.ManifestAsync(1));
            await Task.Delay(TimeSpan.FromSeconds(2)); // let the other agent poll again and see the task is done
        }
        finally
        {
            await Task.WhenAll(hosts.Select(h => h.StopAsync()));
        }

        var statuses = hosts.Select(h => h.Services.GetRequiredService<AgentStatusBoard>().Current).ToList();
        foreach (var host in hosts) host.Dispose();

        Assert.Equal(1, statuses.Sum(s => s.TasksCompleted));
        Assert.All(statuses, s => Assert.Equal(0, s.TasksFailed));
        Assert.All(statuses, s => Assert.Equal(AgentActivity.Stopped, s.Activity));
        var trainedIn = options.Count(o =>
            TaskWorkFolder.For(o.WorkPath, BlobLayout.HospitalRoundFolder(bed.RunId, 1)).ReadState()?.Phase == TaskPhase.Completed);
        Assert.Equal(1, trainedIn);
        Assert.Single(await bed.HospitalBlobsAsync(), b => b.Name.StartsWith(task.UpdateFolder + "adapter-", StringComparison.Ordinal));

        // The status file mirrors the live status for observers in other processes.
        var fromFile = AgentStatusBoard.ReadFile(Path.Combine(options[0].WorkPath, "status.json"));
        Assert.Equal(bed.HospitalId, fromFile!.HospitalId);
    }
}
