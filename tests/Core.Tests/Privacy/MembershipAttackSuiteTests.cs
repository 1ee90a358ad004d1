using FedTune.Core.Privacy;

namespace FedTune.Core.Tests.Privacy;

public sealed class MembershipAttackSuiteTests
{
    private static TokenLogProbabilities Record(float logProb, int tokens = 10) =>
        new("some response text", Enumerable.Repeat(logProb, tokens).ToArray(), Enumerable.Repeat(-2f, tokens).ToArray(), Enumerable.Repeat(1f, tokens).ToArray());

    [Fact]
    public void Evaluate_runs_every_attack_and_marks_the_20_percent_min_k_as_headline()
    {
        var members = new[] { Record(-0.5f), Record(-0.7f) };
        var nonMembers = new[] { Record(-2f), Record(-3f) };
        var results = MembershipAttackSuite.Evaluate(members, nonMembers, [Record(-2f), Record(-2f)], [Record(-2f), Record(-3f)], new BootstrapOptions { Resamples = 10 });
        Assert.Equal(
            ["loss", "ref-loss", "zlib", "min-k 5%", "min-k 10%", "min-k 20%", "min-k 30%", "min-k 50%", "min-k++ 5%", "min-k++ 10%", "min-k++ 20%", "min-k++ 30%", "min-k++ 50%"],
            results.Select(r => r.Name));
        Assert.Equal(["loss", "ref-loss", "zlib", "min-k 20%", "min-k++ 20%"], results.Where(r => r.Headline).Select(r => r.Name));
        Assert.All(results.Where(r => r.Name != "ref-loss"), r => Assert.Equal(1.0, r.Metrics.Auroc.Value));
        // Reference-calibrated: members gained 1.5 and 1.3 nats, non-members 0 and 0 -> perfectly separated too.
        Assert.Equal(1.0, results.Single(r => r.Name == "ref-loss").Metrics.Auroc.Value);
    }

    [Fact]
    public void Evaluate_skips_reference_and_min_k_plus_plus_when_their_inputs_are_missing()
    {
        var bare = new TokenLogProbabilities("t", [-1f, -2f], [], []);
        var results = MembershipAttackSuite.Evaluate([bare], [bare], bootstrap: new BootstrapOptions { Resamples = 0 });
        Assert.DoesNotContain(results, r => r.Name == "ref-loss" || r.Attack == MembershipAttack.MinKPlusPlus);
        Assert.Equal(0.5, results[0].Metrics.Auroc.Value);
    }

    [Fact]
    public void Evaluate_rejects_reference_scores_for_different_records()
    {
        var error = Assert.Throws<ArgumentException>(() => MembershipAttackSuite.Evaluate([Record(-1f)], [Record(-1f)], [Record(-1f), Record(-1f)], [Record(-1f)]));
        Assert.Contains("same records", error.Message, StringComparison.Ordinal);
    }
}
