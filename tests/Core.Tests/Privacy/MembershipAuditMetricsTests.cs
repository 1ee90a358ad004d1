using FedTune.Core.Privacy;

namespace FedTune.Core.Tests.Privacy;

public sealed class MembershipAuditMetricsTests
{
    [Theory]
    [InlineData(0.5, 2.5)]
    [InlineData(0.0, 1.0)]
    [InlineData(1.0, 4.0)]
    [InlineData(0.025, 1.075)]
    public void Percentile_interpolates_linearly_between_order_statistics(double q, double expected)
    {
        Assert.Equal(expected, MembershipAuditMetrics.Percentile([1.0, 2.0, 3.0, 4.0], q), 12);
    }

    [Fact]
    public void Evaluate_gives_point_values_from_the_full_data()
    {
        var metrics = MembershipAuditMetrics.Evaluate(new MembershipScores([0.9, 0.8, 0.4], [0.7, 0.4, 0.1]), new BootstrapOptions { Resamples = 50 });
        Assert.Equal(7.5 / 9, metrics.Auroc.Value, 12);
        Assert.Equal(2.0 / 3, metrics.TprAt1PercentFpr.Value, 12);
        Assert.Equal(2.0 / 3, metrics.TprAt01PercentFpr.Value, 12);
        Assert.Equal(2.0 / 3, metrics.FprAt95PercentTpr.Value, 12);
        Assert.Equal(5.0 / 6, metrics.BalancedAccuracy.Value, 12);
        Assert.Equal(3, metrics.MemberCount);
        Assert.False(metrics.TprAt01PercentFprResolvable);
    }

    [Fact]
    public void Evaluate_is_reproducible_with_a_seed_and_changes_with_another()
    {
        var random = new Random(3);
        var scores = new MembershipScores(
            Enumerable.Range(0, 100).Select(_ => random.NextDouble() + 0.2).ToArray(),
            Enumerable.Range(0, 100).Select(_ => random.NextDouble()).ToArray());
        var a = MembershipAuditMetrics.Evaluate(scores, new BootstrapOptions { Resamples = 200, Seed = 1 });
        var b = MembershipAuditMetrics.Evaluate(scores, new BootstrapOptions { Resamples = 200, Seed = 1 });
        var c = MembershipAuditMetrics.Evaluate(scores, new BootstrapOptions { Resamples = 200, Seed = 2 });
        Assert.Equal(a, b);
        Assert.NotEqual(a.Auroc.Lower, c.Auroc.Lower);
        Assert.InRange(a.Auroc.Value, a.Auroc.Lower, a.Auroc.Upper);
    }

    [Fact]
    public void Evaluate_interval_covers_one_half_for_indistinguishable_scores_and_excludes_it_for_separated_ones()
    {
        var random = new Random(11);
        double Normal() => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
        var same = new MembershipScores(
            Enumerable.Range(0, 400).Select(_ => Normal()).ToArray(),
            Enumerable.Range(0, 400).Select(_ => Normal()).ToArray());
        var auroc = MembershipAuditMetrics.Evaluate(same).Auroc;
        Assert.InRange(0.5, auroc.Lower, auroc.Upper);
        Assert.InRange(auroc.Upper - auroc.Lower, 0.04, 0.12); // about 2 * 1.96 * sqrt(1/12 * (1/400 + 1/400)) = 0.08

        var shifted = new MembershipScores(
            Enumerable.Range(0, 400).Select(_ => Normal() + 1.5).ToArray(),
            Enumerable.Range(0, 400).Select(_ => Normal()).ToArray());
        var separated = MembershipAuditMetrics.Evaluate(shifted).Auroc;
        Assert.True(separated.Lower > 0.8, $"AUROC of a 1.5-sigma shift should be about 0.86, CI {separated}");
    }

    [Fact]
    public void Evaluate_without_resamples_reports_a_degenerate_interval()
    {
        var metrics = MembershipAuditMetrics.Evaluate(new MembershipScores([2.0, 1.0], [0.0, 1.5]), new BootstrapOptions { Resamples = 0 });
        Assert.Equal(0.75, metrics.Auroc.Value, 12);
        Assert.Equal(metrics.Auroc.Value, metrics.Auroc.Lower);
        Assert.Equal(metrics.Auroc.Value, metrics.Auroc.Upper);
    }

    [Fact]
    public void BootstrapOptions_rejects_an_invalid_confidence_level()
    {
        var error = Assert.Throws<ArgumentException>(() => MembershipAuditMetrics.Evaluate(
            new MembershipScores([1.0], [0.0]), new BootstrapOptions { ConfidenceLevel = 1.5 }));
        Assert.Contains("Confidence level is 1.5", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bootstrap_intervals_are_those_of_each_resample_sorted_afresh()
    {
        // Scores with many ties (rounded), members shifted up: the resamples' groups must be the sorted resamples' own.
        var random = new Random(8);
        var members = Enumerable.Range(0, 150).Select(_ => Math.Round(random.NextDouble() + 0.15, 2)).ToArray();
        var nonMembers = Enumerable.Range(0, 120).Select(_ => Math.Round(random.NextDouble(), 2)).ToArray();
        var options = new BootstrapOptions { Resamples = 300, Seed = 77 };

        var metrics = MembershipAuditMetrics.Evaluate(new MembershipScores(members, nonMembers), options);

        // The plain bootstrap: the same seeded draws (members, then non-members, per resample), each resample's scores
        // sorted into a new curve.
        var draws = new Random(options.Seed);
        var figures = new List<double[]>();
        for (var b = 0; b < options.Resamples; b++)
        {
            var m = members.Select(_ => members[draws.Next(members.Length)]).ToArray();
            var n = nonMembers.Select(_ => nonMembers[draws.Next(nonMembers.Length)]).ToArray();
            var curve = RocCurve.Compute(new MembershipScores(m, n));
            figures.Add([
                RocMetrics.Auroc(new MembershipScores(m, n)),
                RocMetrics.TruePositiveRateAt(curve, MembershipAuditMetrics.LowFpr),
                RocMetrics.TruePositiveRateAt(curve, MembershipAuditMetrics.VeryLowFpr),
                RocMetrics.FalsePositiveRateAt(curve, MembershipAuditMetrics.HighTpr),
                RocMetrics.BestBalancedAccuracy(curve)]);
        }

        Estimate[] got = [metrics.Auroc, metrics.TprAt1PercentFpr, metrics.TprAt01PercentFpr, metrics.FprAt95PercentTpr, metrics.BalancedAccuracy];
        for (var f = 0; f < got.Length; f++)
        {
            var sorted = figures.Select(r => r[f]).Order().ToArray();
            var tail = (1 - options.ConfidenceLevel) / 2;
            Assert.Equal(MembershipAuditMetrics.Percentile(sorted, tail), got[f].Lower);
            Assert.Equal(MembershipAuditMetrics.Percentile(sorted, 1 - tail), got[f].Upper);
        }
    }
}
