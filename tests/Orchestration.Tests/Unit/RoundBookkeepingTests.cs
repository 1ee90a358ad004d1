using FedTune.Core.Configuration;
using FedTune.Core.Protocol;
using FedTune.Orchestration.Aggregation;
using FedTune.Orchestration.Orchestrators;
using FedTune.Orchestration.Plans;
using FedTune.Orchestration.TestHost;
using FedTune.Orchestration.Tests.Support;
using Xunit;

namespace FedTune.Orchestration.Tests.Unit;

public sealed class RoundBookkeepingTests
{
    private static HospitalRoundOutcome Outcome(string id, HospitalRoundState state, string? code = null) =>
        new() { HospitalId = id, State = state, ReasonCode = code, Message = code == null ? null : "why" };

    [Fact]
    public void Quorum_is_met_when_uploads_reach_min_fit_clients()
    {
        var decision = QuorumRules.Evaluate([Outcome("a", HospitalRoundState.Uploaded), Outcome("b", HospitalRoundState.Uploaded),
            Outcome("c", HospitalRoundState.Straggler)], minFitClients: 2);
        Assert.True(decision.Met);
        Assert.Equal(["c"], decision.Stragglers);
    }

    [Fact]
    public void Quorum_failure_explains_the_round_the_missing_and_the_failed_hospitals()
    {
        var decision = QuorumRules.Evaluate([Outcome("a", HospitalRoundState.Uploaded), Outcome("b", HospitalRoundState.Failed, "data_missing"),
            Outcome("c", HospitalRoundState.Straggler)], minFitClients: 2);
        Assert.False(decision.Met);
        var text = decision.Explain("run-1", 4, 1);
        Assert.Equal("Run run-1 round 4 (attempt 2) got 1 upload(s) but min_fit_clients is 2. Missed the deadline: c. Failed: b (data_missing: why).", text);
    }

    [Fact]
    public void A_quorum_failure_of_many_hospitals_counts_them_per_reason_and_names_only_the_first_few()
    {
        var outcomes = Enumerable.Range(0, 1000).Select(i => i % 10 == 0
                ? Outcome($"h{i:D4}", HospitalRoundState.Straggler)
                : Outcome($"h{i:D4}", HospitalRoundState.Failed, i % 10 == 1 ? "data_missing" : "manifest_invalid"))
            .ToArray();
        var text = QuorumRules.Evaluate(outcomes, minFitClients: 2).Explain("run-1", 3, 0);

        Assert.True(text.Length < 1000, text);
        Assert.Contains("Missed the deadline: h0000, h0010, h0020 and 97 more.", text, StringComparison.Ordinal);
        Assert.Contains("Failed: 900 hospitals (manifest_invalid x800, data_missing x100): h0001, h0002, h0003 and 897 more; h0001: why.", text, StringComparison.Ordinal);
        Assert.Contains("under runs/run-1/round-0003/: failed.json or update/manifest.json", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Rejected_updates_are_listed_with_their_reasons_when_few_and_counted_when_many()
    {
        RoundExclusion Rejected(int i) => new($"h{i:D3}", FailureReasons.UpdateInvalid, new string('x', 1000));
        var few = ExclusionSummary.Describe([Rejected(1), Rejected(2)]);
        Assert.StartsWith("h001 (update_invalid: xxx", few, StringComparison.Ordinal);
        Assert.Contains("...); h002 (update_invalid: ", few, StringComparison.Ordinal);
        Assert.True(few.Length < 2 * (ExclusionSummary.MaxMessageLength + 40), few);

        var many = ExclusionSummary.Describe(Enumerable.Range(0, 10_000).Select(Rejected).ToArray());
        Assert.StartsWith("10000 hospitals (update_invalid x10000): h000, h001, h002 and 9997 more; h000: xxx", many, StringComparison.Ordinal);
        Assert.True(many.Length < 400, many);
    }

    [Fact]
    public void Monitor_backoff_doubles_up_to_the_maximum_and_never_passes_the_deadline()
    {
        var settings = new MonitorSettings { FirstPoll = TimeSpan.FromSeconds(5), MaxPoll = TimeSpan.FromSeconds(30), BackoffFactor = 2 };
        var waits = new List<TimeSpan> { settings.FirstPoll };
        for (int i = 0; i < 5; i++) waits.Add(MonitorBackoff.Grow(waits[^1], settings));
        Assert.Equal(new[] { 5, 10, 20, 30, 30, 30 }, waits.Select(w => (int)w.TotalSeconds));
        var now = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        Assert.Equal(now.AddSeconds(3), MonitorBackoff.NextCheck(now, now.AddSeconds(3), TimeSpan.FromSeconds(30)));
        Assert.Equal(now.AddSeconds(30), MonitorBackoff.NextCheck(now, now.AddHours(1), TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public void Round_task_carries_the_cosine_learning_rate_the_deadline_and_the_hospital_paths()
    {
        var plan = TestConfigs.Plan(TestConfigs.Yaml(rounds: 4), "t.yaml", "run-7");
        var issued = new DateTimeOffset(2026, 11, 24, 20, 0, 0, TimeSpan.Zero);
        var global = new ContentRef(new BlobRef("global", "runs/run-7/round-0001/global-adapter.safetensors"), new string('a', 64), 10);
        var task = RoundTaskFactory.Create(plan, round: 2, attempt: 1, "b", global, issued);
        Assert.Equal(FederatedLearningRate.ForRound(2, 4, 5e-4, 1e-6), task.LearningRate, 12);
        Assert.Equal(issued + TimeSpan.FromSeconds(20), task.DeadlineUtc);
        Assert.Equal("hospital-b", task.Container);
        Assert.Equal("runs/run-7/round-0002-retry-1/update/manifest.json", task.ManifestBlob);
        Assert.Equal(plan.Recipe, task.Recipe);
        Assert.Equal(5, task.Recipe.MaxSteps);
        Assert.Equal(2, task.Recipe.Lora.R);
        Assert.Equal(task.Seed, RoundTaskFactory.Create(plan, 2, 1, "b", global, issued).Seed);
        Assert.NotEqual(task.Seed, RoundTaskFactory.Create(plan, 2, 1, "a", global, issued).Seed);
    }

    [Fact]
    public void Round_metrics_are_example_and_token_weighted()
    {
        UpdateManifest M(long examples, double loss, double nll, long tokens) => new()
        {
            RunId = "r", Round = 1, HospitalId = "x", ExampleCount = examples, AgentVersion = "t", CompletedUtc = DateTimeOffset.UnixEpoch,
            Adapter = new ContentRef(new BlobRef("c", "n"), new string('0', 64), 1), Timings = new UpdateTimings(),
            Metrics = new UpdateMetrics { TrainLoss = loss, HeldOutNll = nll, HeldOutTokens = tokens },
        };
        var metrics = RoundMetricsCalculator.WeightedAverages([M(10, 1.0, 2.0, 100), M(30, 2.0, 3.0, 300)]);
        Assert.Equal(1.75, metrics.TrainLoss!.Value, 12);
        Assert.Equal(2.75, metrics.HeldOutNll!.Value, 12);
        Assert.Equal(Math.Exp(2.75), metrics.HeldOutPerplexity!.Value, 9);
        Assert.Equal(400, metrics.HeldOutTokens);
    }

    [Fact]
    public void The_rounds_record_level_epsilon_is_the_largest_a_participant_reports_not_an_average()
    {
        static UpdateManifest M(long examples, double? epsilon) => new()
        {
            RunId = "r", Round = 1, HospitalId = "x", ExampleCount = examples, AgentVersion = "t", CompletedUtc = DateTimeOffset.UnixEpoch,
            Adapter = new ContentRef(new BlobRef("c", "n"), new string('0', 64), 1), Timings = new UpdateTimings(),
            Metrics = new UpdateMetrics { RecordEpsilon = epsilon },
        };

        Assert.Equal(4.5, RoundMetricsCalculator.MaxRecordEpsilon([M(1000, 1.2), M(10, 4.5), M(500, null)]));
        Assert.Null(RoundMetricsCalculator.MaxRecordEpsilon([M(10, null), M(20, null)]));
    }

    [Fact]
    public void Core_aggregation_is_built_for_every_configured_strategy_and_rejects_unknown_names()
    {
        foreach (var name in new[] { "fedavg", "fedavgm", "fedadam", "fedyogi", "fedadagrad", "fedprox", "median", "trimmedmean", "normbounded" })
        {
            Assert.NotNull(CoreAggregation.Create(new AggregationSettings { Strategy = name }));
        }
        var e = Assert.Throws<ArgumentException>(() => CoreAggregation.Create(new AggregationSettings { Strategy = "fedmagic" }));
        Assert.Contains("fedadam", e.Message, StringComparison.Ordinal);
    }
}
