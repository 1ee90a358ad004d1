using FedTune.Orchestration.Orchestrators;
using FedTune.Orchestration.Plans;
using FedTune.Orchestration.TestHost;
using FedTune.Orchestration.Tests.Support;
using FedTune.TestSupport;
using Microsoft.DurableTask.Client;
using Xunit;

namespace FedTune.Orchestration.Tests.Integration;

/// <summary>
/// Rounds end on upload events (the local host's watcher raising the notices Event Grid raises in Azure), not on the
/// safety-net poll: with a ten-minute deadline and a ten-minute poll, a run only finishes in time through the events.
/// </summary>
[Collection(AzuriteTestGroup.Name)]
public sealed class UploadEventTests(AzuriteFixture azurite)
{
    private static readonly MonitorSettings TenMinutePoll = new() { FirstPoll = TimeSpan.FromMinutes(10), MaxPoll = TimeSpan.FromMinutes(10) };

    [Fact]
    public async Task Rounds_end_when_the_last_upload_arrives_not_at_the_safety_net_poll()
    {
        await using var host = await LocalHostHarness.StartAsync(azurite.ConnectionString);
        var runId = LocalHostHarness.UniqueRunId("events");
        var plan = FederationPlanBuilder.FromYaml(TestConfigs.Yaml(rounds: 2, deadline: "10m"), "test.yaml", runId, monitor: TenMinutePoll);
        await using var agents = new FakeFederation(runId, LocalHostHarness.ThreeAgents(host.Store));

        await host.Operator.StartPlanAsync(plan);
        var done = await LocalHostHarness.WaitAsync(host.Client, runId, TimeSpan.FromSeconds(120));

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        Assert.Equal(2, done.ReadOutputAs<FederationResult>()!.RoundsCompleted);
    }

    [Fact]
    public async Task Without_the_upload_watcher_a_round_waits_for_its_safety_net_poll()
    {
        await using var host = await LocalOrchestratorHostWithoutWatcher();
        var runId = LocalHostHarness.UniqueRunId("noevents");
        var plan = FederationPlanBuilder.FromYaml(TestConfigs.Yaml(rounds: 1, deadline: "10m"), "test.yaml", runId, monitor: TenMinutePoll);
        await using var agents = new FakeFederation(runId, LocalHostHarness.ThreeAgents(host.Store));

        await host.Operator.StartPlanAsync(plan);
        // Every hospital uploads within a second or two; the round still waits, since nothing tells it.
        await Task.Delay(TimeSpan.FromSeconds(15));
        Assert.All(agents.Agents, a => Assert.Equal(1, a.TasksSeen));
        var running = await host.Client.GetInstanceAsync(runId, getInputsAndOutputs: false);
        Assert.Equal(OrchestrationRuntimeStatus.Running, running!.RuntimeStatus);

        // The operator's upload-arrived route raises the same notice, and the round ends.
        foreach (var hospital in new[] { "a", "b", "c" }) Assert.Equal(202, (await host.Operator.NotifyUploadArrivedAsync(runId, 1, hospital)).StatusCode);
        var done = await LocalHostHarness.WaitAsync(host.Client, runId, TimeSpan.FromSeconds(60));
        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
    }

    [Fact]
    public async Task Event_Grids_per_upload_deliveries_end_the_round_as_one_notice()
    {
        await using var host = await LocalOrchestratorHostWithoutWatcher();
        var runId = LocalHostHarness.UniqueRunId("eventgrid");
        var plan = FederationPlanBuilder.FromYaml(TestConfigs.Yaml(rounds: 1, deadline: "10m"), "test.yaml", runId, monitor: TenMinutePoll);
        await using var agents = new FakeFederation(runId, LocalHostHarness.ThreeAgents(host.Store));
        await host.Operator.StartPlanAsync(plan);
        var manifests = new[] { "a", "b", "c" }.Select(h => Core.Protocol.BlobLayout.UpdateManifest(runId, 1, h)).ToArray();
        for (var waited = System.Diagnostics.Stopwatch.StartNew(); waited.Elapsed < TimeSpan.FromSeconds(60);)
        {
            var found = await Task.WhenAll(manifests.Select(m => host.Store.TryReadJsonAsync<Core.Protocol.UpdateManifest>(m)));
            if (found.All(f => f != null)) break;
            await Task.Delay(200);
        }

        // What the Functions app's queue trigger does with each BlobCreated event, here all three at once.
        var batcher = new Events.UploadNoticeBatcher(new Events.UploadEventRouter(host.Client), Events.UploadNoticeBatcher.DefaultWindow);
        await Task.WhenAll(manifests.Select(m => batcher.NotifyAsync(Events.UploadLocation.FromBlob(m.Container, m.Name)!)));

        Assert.Equal((1L, 3L), batcher.Totals);
        var done = await LocalHostHarness.WaitAsync(host.Client, runId, TimeSpan.FromSeconds(60));
        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
    }

    private Task<Local.LocalOrchestratorHost> LocalOrchestratorHostWithoutWatcher() =>
        Local.LocalOrchestratorHost.StartAsync(azurite.ConnectionString, LocalHostHarness.Options() with { ServeApi = false, UploadWatchInterval = TimeSpan.Zero });
}
