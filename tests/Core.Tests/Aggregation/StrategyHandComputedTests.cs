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

    /// <summary>Flower's FedAvgM: pseudo-gradient g = x − avg; m = g in round 1, then β·m + g; x ← x − lr·m.</summary>
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

    /// <summary>
    /// Flower's FedAdagrad / FedAdam / FedYogi (flwr/server/strategy/fedadagrad.py, fedadam.py, fedyogi.py) worked by hand
    /// for two rounds with the same mean delta Δ = [0.25, 0.5, 1.5, 3]; η 0.1, β₂ 0.99, τ 1e-3; β₁ 0.9 (FedAdagrad: 0, as
    /// Flower fixes it); m and v start at 0. Round 1 for d = 0.25:
    /// FedAdagrad m = d, v = d², x = 1 + 0.1·0.25 / (0.25 + 0.001) = 1.0996016;
    /// FedAdam m = 0.025, v = 0.01·d², η₁ = 0.1·√(1 − 0.99²) / (1 − 0.9²) = 0.0742460 (Flower's bias correction with
    /// exponent server_round + 1), x = 1 + η₁·0.025 / (0.025 + 0.001) = 1.0713904;
    /// FedYogi v = 0 − 0.01·d²·sign(0 − d²) = 0.01·d², x = 1 + 0.1·0.025 / 0.026 = 1.0961538.
    /// Round 2 (d again): FedAdagrad v = 2d²; FedAdam m = 0.19d, v = 0.0199d², η₂ = 0.1·√(1 − 0.99³) / (1 − 0.9³);
    /// FedYogi m = 0.19d, v = 0.01d² + 0.01d² = 0.02d².
    /// </summary>
    [Theory]
    [InlineData(StrategyName.FedAdagrad, new[] { 1.0996016f, 1.0998004f, 1.0999334f, 1.0999667f }, new[] { 1.1701128f, 1.1704112f, 1.1706107f, 1.1706607f })]
    [InlineData(StrategyName.FedAdam, new[] { 1.0713904f, 1.0727902f, 1.0737543f, 1.0739993f }, new[] { 1.1546818f, 1.1572459f, 1.1590045f, 1.1594505f })]
    [InlineData(StrategyName.FedYogi, new[] { 1.0961538f, 1.0980392f, 1.0993377f, 1.0996678f }, new[] { 1.2268087f, 1.2305160f, 1.2330577f, 1.2337021f })]
    public void Adaptive_strategies_compute_what_Flowers_strategies_compute(StrategyName name, float[] round1, float[] round2)
    {
        var config = StrategyConfig.For(name) with { Eta = 0.1, Beta2 = 0.99, Tau = 1e-3 };
        Assert.Equal(name == StrategyName.FedAdagrad ? 0 : 0.9, config.Beta1);
        var aggregator = Aggregator(config);
        var first = aggregator.Aggregate(Of(GlobalValues), Updates(), Round(2));
        Near(round1, Flat(first.Global), 2e-6);

        // Round 2: each client moves from the new global by the same delta as before, so the mean delta is Δ again.
        var x1 = Flat(first.Global);
        ClientUpdate[] again =
        [
            Wire("c1", 1, Of(x1.Zip(new float[] { 1, 2, 0, 0 }, (x, d) => x + d).ToArray())),
            Wire("c2", 3, Of(x1.Zip(new float[] { 0, 0, 2, 4 }, (x, d) => x + d).ToArray())),
        ];
        var second = aggregator.Aggregate(first.Global, again, Round(2, 2), ServerOptimizerState.FromBytes(first.State.ToBytes()));
        Near(round2, Flat(second.Global), 5e-6);
    }

    [Fact]
    public void Flowers_default_eta_and_tau_per_strategy_are_the_defaults()
    {
        Assert.Equal((0.1, 1e-9), (StrategyConfig.For(StrategyName.FedAdam).Eta, StrategyConfig.For(StrategyName.FedAdam).Tau));
        Assert.Equal((0.1, 1e-9), (StrategyConfig.For(StrategyName.FedAdagrad).Eta, StrategyConfig.For(StrategyName.FedAdagrad).Tau));
        Assert.Equal((0.01, 1e-3), (StrategyConfig.For(StrategyName.FedYogi).Eta, StrategyConfig.For(StrategyName.FedYogi).Tau));
        Assert.Equal((0.9, 0.99), (StrategyConfig.For(StrategyName.FedAdam).Beta1, StrategyConfig.For(StrategyName.FedAdam).Beta2));
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
