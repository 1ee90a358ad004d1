using FedTune.Core.Aggregation;
using FedTune.Core.Configuration;
using static FedTune.Core.Tests.Aggregation.TinyAdapters;

namespace FedTune.Core.Tests.Aggregation;

/// <summary>A hospital's weight is bounded by what the round let it do, whatever example count it declares.</summary>
public sealed class BoundedInfluenceTests
{
    private static readonly float[] GlobalValues = [0, 0, 0, 0];

    private static AggregationResult Aggregate(UpdateWeighting weighting, double inflatedCount)
    {
        ClientUpdate[] updates =
        [
            Wire("a", 40, Of(1, 1, 1, 1)),
            Wire("b", 40, Of(1, 1, 1, 1)),
            Wire("m", inflatedCount, Of(-8, -8, -8, -8)),
        ];
        var aggregator = new StreamingAggregator(AggregationStrategy.Create(StrategyConfig.For(StrategyName.FedAvg)),
            new UpdateValidator(new UpdateValidationConfig { MaxNormRatio = double.PositiveInfinity })) { Weighting = weighting };
        return aggregator.Aggregate(Of(GlobalValues), updates, new RoundContext(1, 3, 3, 1));
    }

    [Fact]
    public void Declared_counts_alone_let_an_inflated_count_take_the_round()
    {
        var result = Aggregate(UpdateWeighting.Declared, 1e9);
        Assert.True(result.Shares["m"] > 0.9999);
    }

    [Fact]
    public void Budget_weighting_caps_a_declared_count_at_steps_times_batch_times_accumulation()
    {
        // Budget 40 (10 steps x batch 4): m's 1e9 counts as 40, a third of the round like each honest hospital.
        var result = Aggregate(new UpdateWeighting { Kind = WeightingKind.Budget, Budget = 40 }, 1e9);
        Assert.Equal(1 / 3.0, result.Shares["m"], 12);
        Assert.Equal(-2f, Flat(result.Global)[0], 5); // (1 + 1 − 8) / 3
    }

    [Fact]
    public void Capped_weighting_caps_at_a_multiple_of_the_median_and_uniform_ignores_counts()
    {
        var capped = Aggregate(new UpdateWeighting { Kind = WeightingKind.Capped, CapMultiple = 2 }, 1e9);
        Assert.Equal(80 / 160.0, capped.Shares["m"], 12); // median 40, cap 80: 80 / (40 + 40 + 80)
        var uniform = Aggregate(new UpdateWeighting { Kind = WeightingKind.Uniform }, 1e9);
        Assert.Equal(1 / 3.0, uniform.Shares["m"], 12);
    }
}
