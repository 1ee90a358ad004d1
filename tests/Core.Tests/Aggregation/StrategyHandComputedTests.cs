using FedTune.Core.Aggregation;
using FedTune.Core.Configuration;
using static FedTune.Core.Tests.Aggregation.TinyAdapters;

namespace FedTune.Core.Tests.Aggregation;

/// <summary>
/// Global [1, 1, 1, 1]; client 1 (1 example) sends [2, 3, 1, 1] (delta [1, 2, 0, 0]); client 2 (3 examples)
/// sends [1, 1, 3, 5] (delta [0, 0, 2, 4]). Weighted mean delta = [0.25, 0.5, 1.5, 3].
/// </summary>
public sealed class StrategyHandComputedTests
{
    private static readonly float[] GlobalValues = [1, 1, 1, 1];
    private static readonly float[] Client1 = [2, 3, 1, 1];
    private static readonly float[] Client2 = [1, 1, 3, 5];

    private static ClientUpdate[] Updates() => [Wire("c1", 1, Of(Client1)), Wire("c2", 3, Of(Client2))];

    private static float[] Run(StrategyConfig strategy, DifferentialPrivacyConfig? dp = null, int sampled = 2)
    {
        var result = Aggregator(strategy, dp).Aggregate(Of(GlobalValues), Updates(), new RoundContext(1, sampled, sampled, 1));
        Assert.True(result.QuorumMet);
        return Flat(result.Global);
    }

    private static void Near(float[] expected, float[] actual, double tolerance = 1e-6)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance, $"element {i}: expected {expected[i]}, got {actual[i]}");
        }
    }

    [Fact]
    public void FedAvg_weights_updates_by_example_count()
        => Near([1.25f, 1.5f, 2.5f, 4f], Run(StrategyConfig.For(StrategyName.FedAvg)));

    [Fact]
    public void FedProx_aggregates_like_FedAvg_on_the_server()
        => Near([1.25f, 1.5f, 2.5f, 4f], Run(StrategyConfig.For(StrategyName.FedProx)));

    [Fact]
    public void FedAvgM_carries_momentum_into_the_next_round()
    {
        var aggregator = Aggregator(StrategyConfig.For(StrategyName.FedAvgM) with { ServerMomentum = 0.9, ServerLearningRate = 1 });
        var first = aggregator.Aggregate(Of(GlobalValues), Updates(), Round(2));
        Near([1.25f, 1.5f, 2.5f, 4f], Flat(first.Global));

        // Round 2: the clients resend the same adapters, whose mean equals the new global: delta 0, so the
        // step is momentum alone: 0.9 · [0.25, 0.5, 1.5, 3].
        var second = aggregator.Aggregate(first.Global, Updates(), Round(2, 2), ServerOptimizerState.FromBytes(first.State.ToBytes()));
        Near([1.475f, 1.95f, 3.85f, 6.7f], Flat(second.Global), 1e-5);
        Assert.Equal(2, second.State.Round);
    }

    [Theory]
    [InlineData(StrategyName.FedAdagrad, new[] { 1.0099601f, 1.00998f, 1.0099933f, 1.0099967f })]
    [InlineData(StrategyName.FedAdam, new[] { 1.0960807f, 1.0980202f, 1.0993356f, 1.0996672f })]
    [InlineData(StrategyName.FedYogi, new[] { 1.09608f, 1.09802f, 1.0993356f, 1.0996672f })]
    public void Adaptive_strategies_follow_Reddi_et_al_algorithm_2(StrategyName name, float[] expected)
    {
        // eta 0.1, beta1 0.9, beta2 0.99, tau 1e-3; m = 0.1·d; v from tau² = 1e-6;
        // e.g. FedAdam for d = 0.25: v = 0.99e-6 + 0.01·0.0625, x = 1 + 0.1·0.025 / (sqrt(v) + 1e-3) = 1.0960807.
        var config = StrategyConfig.For(name) with { Eta = 0.1, Beta1 = 0.9, Beta2 = 0.99, Tau = 1e-3 };
        Near(expected, Run(config), 2e-6);
    }

    [Fact]
    public void Adaptive_state_round_trips_through_bytes_and_continues_identically()
    {
        var config = StrategyConfig.For(StrategyName.FedAdam) with { Eta = 0.1, Tau = 1e-3 };
        var continuous = Aggregator(config);
        var r1 = continuous.Aggregate(Of(GlobalValues), Updates(), Round(2));
        var r2 = continuous.Aggregate(r1.Global, Updates(), Round(2, 2), r1.State);
        var restored = Aggregator(config).Aggregate(r1.Global, Updates(), Round(2, 2), ServerOptimizerState.FromBytes(r1.State.ToBytes()));
        Assert.Equal(Flat(r2.Global), Flat(restored.Global));
    }

    [Fact]
    public void Coordinate_wise_median_takes_the_middle_value()
    {
        ClientUpdate[] updates = [Wire("c1", 1, Of(Client1)), Wire("c2", 100, Of(Client2)), Wire("c3", 1, Of(0, 10, 2, 2))];
        var result = Aggregator(StrategyConfig.For(StrategyName.Median)).Aggregate(Of(GlobalValues), updates, Round(3));
        Near([1, 3, 2, 2], Flat(result.Global));
    }

    [Fact]
    public void Trimmed_mean_drops_the_extremes_of_each_coordinate()
    {
        ClientUpdate[] updates =
        [
            Wire("c1", 1, Of(1, 1, 1, 1)), Wire("c2", 1, Of(2, 2, 2, 2)), Wire("c3", 1, Of(3, 3, 3, 3)),
            Wire("c4", 1, Of(4, 4, 4, 4)), Wire("c5", 1, Of(100, -100, 5, 5)),
        ];
        var config = StrategyConfig.For(StrategyName.TrimmedMean) with { TrimFraction = 0.2 };
        var result = Aggregator(config).Aggregate(Of(0, 0, 0, 0), updates, Round(5));

        // Sorted per coordinate, one value cut from each end: [2,3,4], [1,2,3], [2,3,4], [2,3,4].
        Near([3, 2, 3, 3], Flat(result.Global));
    }

    [Fact]
    public void Norm_bounded_averaging_clips_each_delta_before_the_weighted_mean()
    {
        // |delta1| = sqrt(5), |delta2| = sqrt(20); bound 1 scales them to unit norm, then weights 1/4 and 3/4.
        var s5 = (float)(1 / Math.Sqrt(5));
        float[] expected = [1 + (0.25f * s5), 1 + (0.25f * 2 * s5), 1 + (0.75f * s5), 1 + (0.75f * 2 * s5)];
        Near(expected, Run(StrategyConfig.For(StrategyName.NormBounded) with { NormBound = 1 }));
    }

    [Fact]
    public void Dp_fedavg_without_noise_is_the_clipped_sum_over_the_sampled_count()
    {
        // Clip to C = 1, sum unweighted, divide by the 4 sampled clients (2 of them sent nothing).
        var s5 = (float)(1 / Math.Sqrt(5));
        float[] expected = [1 + (s5 / 4), 1 + (2 * s5 / 4), 1 + (s5 / 4), 1 + (2 * s5 / 4)];
        var dp = new DifferentialPrivacyConfig { ClipNorm = 1, NoiseMultiplier = 0 };
        Near(expected, Run(StrategyConfig.For(StrategyName.FedAvg), dp, sampled: 4));
    }

    [Fact]
    public void Dp_cannot_be_combined_with_the_median()
    {
        var dp = new DifferentialPrivacyConfig { ClipNorm = 1, NoiseMultiplier = 1 };
        Assert.Throws<ArgumentException>(() => AggregationStrategy.Create(StrategyConfig.For(StrategyName.Median), dp));
    }
}
