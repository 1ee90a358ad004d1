using FedTune.Core.Protocol;
using FedTune.Orchestration.Activities;
using FedTune.Orchestration.Api;
using FedTune.Orchestration.Orchestrators;
using FedTune.Orchestration.Plans;
using FedTune.Orchestration.TestHost;
using FedTune.Orchestration.Tests.Support;
using FedTune.TestSupport;
using Microsoft.DurableTask.Client;
using Xunit;

namespace FedTune.Orchestration.Tests.Integration;

/// <summary>Whole federations on Azurite through the local host, with fake agents playing the blob protocol.</summary>
[Collection(AzuriteTestGroup.Name)]
public sealed class FederationRunTests(AzuriteFixture azurite)
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task Three_hospitals_three_rounds_end_with_the_hand_computed_FedAvg_adapter()
    {
        await using var host = await LocalHostHarness.StartAsync(azurite.ConnectionString);
        var runId = LocalHostHarness.UniqueRunId("fedavg");
        var plan = TestConfigs.Plan(TestConfigs.Yaml(rounds: 3), "test.yaml", runId, monitor: LocalHostHarness.SafetyNetPoll);
        await using var agents = new FakeFederation(runId, LocalHostHarness.ThreeAgents(host.Store));

        var started = await host.Operator.StartPlanAsync(plan);
        Assert.Equal(202, started.StatusCode);
        var done = await LocalHostHarness.WaitAsync(host.Client, runId, RunTimeout);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        var result = done.ReadOutputAs<FederationResult>()!;
        Assert.Equal(3, result.RoundsCompleted);
        // Each round every element moves by the example-weighted mean offset (0.1*10 + 0.2*20 + 0.3*30) / 60 = 14/60.
        // Round 1 starts from the round-0 adapter (A seeded, B zeros) like any other round. The budget
        // (5 steps x batch 2 x accumulation 3 = 30) bounds no one here, so the weights are the declared counts.
        var final = await LocalHostHarness.ReadAdapterAsync(host.Store, result.GlobalAdapter!);
        float expected = 3 * (0.1f * 10 + 0.2f * 20 + 0.3f * 30) / 60;
        LocalHostHarness.AssertShifted(LocalHostHarness.Round0(plan), final, expected, 4);

        for (int round = 1; round <= 3; round++)
        {
            var record = (await host.Store.TryReadJsonAsync<RoundRecord>(BlobLayout.RoundRecord(runId, round)))!;
            Assert.Equal(["a", "b", "c"], record.Participants.Select(p => p.HospitalId));
            Assert.Equal(60, record.TotalExamples);
            Assert.Empty(record.Stragglers);
            Assert.Empty(record.Rejected);
            Assert.Equal(2.0 + (0.1 * 10 + 0.2 * 20 + 0.3 * 30) / 60, record.Metrics.TrainLoss!.Value, 5);
            Assert.Equal(1.5 + (0.1 * 100 + 0.2 * 200 + 0.3 * 300) / 600, record.Metrics.HeldOutNll!.Value, 5);
            Assert.Equal(0.5, record.Participants.Single(p => p.HospitalId == "c").Weight, 9);
            Assert.NotNull(record.LoraProductError);
        }
        // save_every_round 1 with save_total_limit 2: only the last two checkpoints are kept.
        Assert.Equal([2, 3], await CheckpointCatalog.RoundsAsync(host.Store, runId, CancellationToken.None));
        Assert.All(agents.Agents, a => Assert.Equal(3, a.TasksSeen));
    }

    [Fact]
    public async Task A_straggler_past_its_deadline_is_dropped_and_the_round_completes()
    {
        await using var host = await LocalHostHarness.StartAsync(azurite.ConnectionString);
        var runId = LocalHostHarness.UniqueRunId("straggler");
        var plan = TestConfigs.Plan(TestConfigs.Yaml(rounds: 1, minFit: 2, deadline: "6s"), "test.yaml", runId,
            monitor: LocalHostHarness.SafetyNetPoll);
        await using var agents = new FakeFederation(runId, LocalHostHarness.ThreeAgents(host.Store,
            h => h == "c" ? _ => AgentBehaviour.Silent : null));

        await host.Operator.StartPlanAsync(plan);
        var done = await LocalHostHarness.WaitAsync(host.Client, runId, RunTimeout);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        var record = (await host.Store.TryReadJsonAsync<RoundRecord>(BlobLayout.RoundRecord(runId, 1)))!;
        Assert.Equal(["c"], record.Stragglers);
        Assert.Equal(["a", "b"], record.Participants.Select(p => p.HospitalId));
        var final = await LocalHostHarness.ReadAdapterAsync(host.Store, done.ReadOutputAs<FederationResult>()!.GlobalAdapter!);
        LocalHostHarness.AssertShifted(LocalHostHarness.Round0(plan), final, (0.1f * 10 + 0.2f * 20) / 30, 5);
    }

    [Fact]
    public async Task A_quorum_failure_fails_the_run_with_a_reason_when_configured_to_fail()
    {
        await using var host = await LocalHostHarness.StartAsync(azurite.ConnectionString);
        var runId = LocalHostHarness.UniqueRunId("quorumfail");
        var plan = TestConfigs.Plan(TestConfigs.Yaml(rounds: 2, minFit: 3, deadline: "5s", onQuorumFailure: "fail"), "test.yaml", runId,
            monitor: LocalHostHarness.SafetyNetPoll);
        await using var agents = new FakeFederation(runId, LocalHostHarness.ThreeAgents(host.Store,
            h => h switch { "b" => _ => AgentBehaviour.Fail, "c" => _ => AgentBehaviour.Silent, _ => null }));

        await host.Operator.StartPlanAsync(plan);
        var done = await LocalHostHarness.WaitAsync(host.Client, runId, RunTimeout);

        Assert.Equal(OrchestrationRuntimeStatus.Failed, done.RuntimeStatus);
        var reason = OperatorApi.FailureReason(done)!;
        Assert.Contains("round 1", reason, StringComparison.Ordinal);
        Assert.Contains("got 1 upload(s) but min_fit_clients is 3", reason, StringComparison.Ordinal);
        Assert.Contains("Missed the deadline: c", reason, StringComparison.Ordinal);
        Assert.Contains("b (data_missing", reason, StringComparison.Ordinal);
        Assert.Contains("on_quorum_failure is fail", reason, StringComparison.Ordinal);
        var view = await host.Operator.FindRunAsync(runId);
        Assert.Equal("failed", view!.RuntimeStatus);
        Assert.Equal(reason, view.Failure);
    }

    [Fact]
    public async Task A_quorum_failure_retries_the_round_with_a_new_attempt_when_configured_to_retry()
    {
        await using var host = await LocalHostHarness.StartAsync(azurite.ConnectionString);
        var runId = LocalHostHarness.UniqueRunId("quorumretry");
        var plan = TestConfigs.Plan(TestConfigs.Yaml(rounds: 1, minFit: 3, deadline: "5s", onQuorumFailure: "retry", maxRetries: 1),
            "test.yaml", runId, monitor: LocalHostHarness.SafetyNetPoll);
        // Hospital c misses the first attempt only.
        await using var agents = new FakeFederation(runId, LocalHostHarness.ThreeAgents(host.Store,
            h => h == "c" ? t => t.Attempt == 0 ? AgentBehaviour.Silent : AgentBehaviour.Train : null));

        await host.Operator.StartPlanAsync(plan);
        var done = await LocalHostHarness.WaitAsync(host.Client, runId, RunTimeout);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        var record = (await host.Store.TryReadJsonAsync<RoundRecord>(BlobLayout.RoundRecord(runId, 1)))!;
        Assert.Equal(1, record.Attempt);
        Assert.Equal(3, record.Participants.Count);
        Assert.True(await host.Store.ExistsAsync(BlobLayout.RoundTask(runId, 1, "c", attempt: 1)));
    }

    [Fact]
    public async Task Corrupt_and_NaN_updates_are_rejected_with_their_reasons_in_the_round_record()
    {
        await using var host = await LocalHostHarness.StartAsync(azurite.ConnectionString);
        var runId = LocalHostHarness.UniqueRunId("reject");
        var plan = TestConfigs.Plan(TestConfigs.Yaml(rounds: 1, minFit: 1), "test.yaml", runId, monitor: LocalHostHarness.SafetyNetPoll);
        await using var agents = new FakeFederation(runId, LocalHostHarness.ThreeAgents(host.Store,
            h => h switch { "b" => _ => AgentBehaviour.Corrupt, "c" => _ => AgentBehaviour.NaN, _ => null }));

        await host.Operator.StartPlanAsync(plan);
        var done = await LocalHostHarness.WaitAsync(host.Client, runId, RunTimeout);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        var record = (await host.Store.TryReadJsonAsync<RoundRecord>(BlobLayout.RoundRecord(runId, 1)))!;
        Assert.Equal(["a"], record.Participants.Select(p => p.HospitalId));
        var corrupt = record.Rejected.Single(r => r.HospitalId == "b");
        Assert.Equal(FailureReasons.UpdateUnreadable, corrupt.ReasonCode);
        var nan = record.Rejected.Single(r => r.HospitalId == "c");
        Assert.Equal(FailureReasons.UpdateInvalid, nan.ReasonCode);
        Assert.Contains("element 3 is NaN", nan.Message, StringComparison.Ordinal);
        Assert.Contains("lora_A", nan.Message, StringComparison.Ordinal);
        var final = await LocalHostHarness.ReadAdapterAsync(host.Store, done.ReadOutputAs<FederationResult>()!.GlobalAdapter!);
        LocalHostHarness.AssertShifted(LocalHostHarness.Round0(plan), final, 0.1f, 6);
    }

    [Fact]
    public async Task A_run_can_start_from_a_checkpoint_of_an_earlier_run()
    {
        await using var host = await LocalHostHarness.StartAsync(azurite.ConnectionString);
        var first = LocalHostHarness.UniqueRunId("ckpt-src");
        var firstPlan = TestConfigs.Plan(TestConfigs.Yaml(rounds: 1), "t.yaml", first, monitor: LocalHostHarness.SafetyNetPoll);
        await using (var agents = new FakeFederation(first, LocalHostHarness.ThreeAgents(host.Store)))
        {
            await host.Operator.StartPlanAsync(firstPlan);
            Assert.Equal(OrchestrationRuntimeStatus.Completed, (await LocalHostHarness.WaitAsync(host.Client, first, RunTimeout)).RuntimeStatus);
        }

        var second = LocalHostHarness.UniqueRunId("ckpt-dst");
        await using var agents2 = new FakeFederation(second, LocalHostHarness.ThreeAgents(host.Store));
        await host.Operator.StartPlanAsync(TestConfigs.Plan(TestConfigs.Yaml(rounds: 1), "t.yaml", second,
            new CheckpointSource(first, null), LocalHostHarness.SafetyNetPoll));
        var done = await LocalHostHarness.WaitAsync(host.Client, second, RunTimeout);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        var final = await LocalHostHarness.ReadAdapterAsync(host.Store, done.ReadOutputAs<FederationResult>()!.GlobalAdapter!);
        LocalHostHarness.AssertShifted(LocalHostHarness.Round0(firstPlan), final, 2 * 14f / 60, 5);
    }

    [Fact]
    public async Task FedAdam_with_differential_privacy_runs_and_records_a_growing_epsilon()
    {
        await using var host = await LocalHostHarness.StartAsync(azurite.ConnectionString);
        var runId = LocalHostHarness.UniqueRunId("dp");
        var yaml = TestConfigs.Yaml(rounds: 2, strategy: "fedadam", extraFederation: """
              differential_privacy:
                clip_norm: 5.0
                noise_multiplier: 0.5
                delta: 1e-5
            """);
        await using var agents = new FakeFederation(runId, LocalHostHarness.ThreeAgents(host.Store));
        await host.Operator.StartPlanAsync(TestConfigs.Plan(yaml, "dp.yaml", runId, monitor: LocalHostHarness.SafetyNetPoll));
        var done = await LocalHostHarness.WaitAsync(host.Client, runId, RunTimeout);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        var first = (await host.Store.TryReadJsonAsync<RoundRecord>(BlobLayout.RoundRecord(runId, 1)))!;
        var second = (await host.Store.TryReadJsonAsync<RoundRecord>(BlobLayout.RoundRecord(runId, 2)))!;
        Assert.Equal("fedadam+dp", first.Strategy);   // round 0 is an ordinary global: FedAdam runs from round 1
        Assert.Equal("fedadam+dp", second.Strategy);
        Assert.NotNull(first.ServerState);
        Assert.True(first.DpEpsilon > 0);
        Assert.True(second.DpEpsilon > first.DpEpsilon);
        Assert.NotNull(second.ServerState);
        Assert.Equal(second.DpEpsilon, done.ReadOutputAs<FederationResult>()!.Epsilon);
    }
}
