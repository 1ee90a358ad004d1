using FedTune.Core.Privacy;

namespace FedTune.Core.Tests.Privacy;

public sealed class RocMetricsTests
{
    // Hand-worked example: members {0.9, 0.8, 0.4}, non-members {0.7, 0.4, 0.1}.
    // Sorted by score: 0.9 M, 0.8 M, 0.7 N, 0.4 (M and N tied), 0.1 N.
    private static readonly MembershipScores Example = new([0.9, 0.8, 0.4], [0.7, 0.4, 0.1]);

    [Fact]
    public void RocCurve_has_one_vertex_per_distinct_score_with_ties_grouped()
    {
        var curve = RocCurve.Compute(Example);
        var expected = new (double Fpr, double Tpr)[] { (0, 0), (0, 1.0 / 3), (0, 2.0 / 3), (1.0 / 3, 2.0 / 3), (2.0 / 3, 1), (1, 1) };
        Assert.Equal(expected.Length, curve.Points.Count);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i].Fpr, curve.Points[i].FalsePositiveRate, 12);
            Assert.Equal(expected[i].Tpr, curve.Points[i].TruePositiveRate, 12);
        }

        Assert.Equal(0.4, curve.Points[4].Threshold);
    }

    [Fact]
    public void Auroc_counts_pairs_with_ties_as_one_half()
    {
        // Pairs won by members: 0.9 beats 3, 0.8 beats 3, 0.4 beats 0.1 and ties 0.4 -> 7.5 of 9.
        Assert.Equal(7.5 / 9, RocMetrics.Auroc(Example), 12);
    }

    [Fact]
    public void Auroc_equals_the_trapezoidal_area_of_the_tie_grouped_curve()
    {
        var random = new Random(7);
        var members = Enumerable.Range(0, 200).Select(_ => (double)random.Next(20) + 2).ToArray();
        var nonMembers = Enumerable.Range(0, 150).Select(_ => (double)random.Next(20)).ToArray();
        var scores = new MembershipScores(members, nonMembers);
        var points = RocCurve.Compute(scores).Points;
        var area = 0.0;
        for (var i = 1; i < points.Count; i++)
        {
            area += (points[i].FalsePositiveRate - points[i - 1].FalsePositiveRate) * (points[i].TruePositiveRate + points[i - 1].TruePositiveRate) / 2;
        }

        Assert.Equal(area, RocMetrics.Auroc(scores), 10);
    }

    [Theory]
    [InlineData(new[] { 3.0, 2.0 }, new[] { 1.0, 0.0 }, 1.0)]
    [InlineData(new[] { 1.0, 0.0 }, new[] { 3.0, 2.0 }, 0.0)]
    [InlineData(new[] { 1.0, 2.0 }, new[] { 2.0, 0.0 }, 0.625)]
    [InlineData(new[] { 5.0, 5.0, 5.0 }, new[] { 5.0, 5.0 }, 0.5)]
    public void Auroc_matches_hand_computed_values(double[] members, double[] nonMembers, double expected)
    {
        Assert.Equal(expected, RocMetrics.Auroc(new MembershipScores(members, nonMembers)), 12);
    }

    [Fact]
    public void TprAtFpr_reads_the_step_curve_without_interpolation()
    {
        var curve = RocCurve.Compute(Example);
        Assert.Equal(2.0 / 3, RocMetrics.TruePositiveRateAt(curve, 0.01), 12);
        // At FPR 0.5 the highest vertex with FPR <= 0.5 is (1/3, 2/3); interpolation would claim 5/6.
        Assert.Equal(2.0 / 3, RocMetrics.TruePositiveRateAt(curve, 0.5), 12);
        Assert.Equal(1.0, RocMetrics.TruePositiveRateAt(curve, 2.0 / 3), 12);
    }

    [Fact]
    public void FprAtTpr_is_the_lowest_fpr_reaching_the_tpr()
    {
        var curve = RocCurve.Compute(Example);
        Assert.Equal(2.0 / 3, RocMetrics.FalsePositiveRateAt(curve, 0.95), 12);
        Assert.Equal(0.0, RocMetrics.FalsePositiveRateAt(curve, 0.5), 12);
    }

    [Fact]
    public void BestBalancedAccuracy_is_the_best_threshold_average_of_tpr_and_tnr()
    {
        // Best at (FPR 0, TPR 2/3): (2/3 + 1) / 2.
        Assert.Equal(5.0 / 6, RocMetrics.BestBalancedAccuracy(RocCurve.Compute(Example)), 12);
        Assert.Equal(0.5, RocMetrics.BestBalancedAccuracy(RocCurve.Compute(new MembershipScores([1.0], [1.0]))), 12);
    }

    [Fact]
    public void IsResolvable_says_whether_the_non_member_count_reaches_the_fpr()
    {
        var curve = RocCurve.Compute(Example);
        Assert.False(RocMetrics.IsResolvable(curve, 0.01));
        Assert.True(RocMetrics.IsResolvable(curve, 0.34));
    }

    [Fact]
    public void MembershipScores_rejects_non_finite_and_empty_inputs_with_a_clear_message()
    {
        var nan = Assert.Throws<ArgumentException>(() => new MembershipScores([1.0, double.NaN], [0.0]));
        Assert.Contains("member score at index 1", nan.Message, StringComparison.Ordinal);
        var empty = Assert.Throws<ArgumentException>(() => new MembershipScores([1.0], []));
        Assert.Contains("0 non-members", empty.Message, StringComparison.Ordinal);
    }
}
