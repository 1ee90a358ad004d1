using FedTune.Core.Configuration;

namespace FedTune.Core.Aggregation;

/// <summary>A strategy made of a combiner and a server optimizer.</summary>
public sealed class AggregationStrategy(string name, IUpdateCombiner combiner, IServerOptimizer optimizer) : IAggregationStrategy
{
    public string Name { get; } = name;

    /// <summary>How the accepted updates become one delta.</summary>
    public IUpdateCombiner Combiner { get; } = combiner;

    public bool NeedsAllUpdatesAtOnce => Combiner.NeedsAllUpdatesAtOnce;

    public float[] CombineDeltas(AggregationInput input) => Combiner.Combine(input);

    public void ApplyServerStep(AdapterLayoutView layout, Span<float> global, ReadOnlySpan<float> delta, ServerOptimizerState state) =>
        optimizer.Step(layout, global, delta, state);

    /// <summary>
    /// The strategy a configuration asks for. With <paramref name="privacy"/>, the combiner becomes DP-FedAvg's
    /// clipped, noised mean (any server optimizer may follow it: post-processing keeps the guarantee);
    /// median and trimmed mean cannot be combined with DP and are rejected.
    /// </summary>
    public static AggregationStrategy Create(StrategyConfig config, DifferentialPrivacyConfig? privacy = null, GaussianNoise? noise = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (privacy is not null && config.Name is StrategyName.Median or StrategyName.TrimmedMean)
        {
            throw new ArgumentException(
                $"Differential privacy needs a mean-based strategy; '{config.Name}' has no bounded sensitivity. Use fedavg, fedavgm, fedadam, fedyogi, fedadagrad or norm_bounded.",
                nameof(privacy));
        }

        IUpdateCombiner combiner = privacy is not null
            ? new ClippedMeanCombiner(privacy.ClipNorm, privacy.NoiseMultiplier, noise ?? GaussianNoise.Secure())
            : config.Name switch
            {
                StrategyName.Median => new CoordinateWiseCombiner(CoordinateStatistic.Median),
                StrategyName.TrimmedMean => new CoordinateWiseCombiner(CoordinateStatistic.TrimmedMean, config.TrimFraction),
                StrategyName.NormBounded => new ClippedMeanCombiner(config.NormBound),
                _ => new WeightedMeanCombiner(),
            };

        IServerOptimizer optimizer = config.Name switch
        {
            StrategyName.FedAvgM => new MomentumServerStep(config.ServerLearningRate, config.ServerMomentum),
            StrategyName.FedAdagrad => new AdaptiveServerStep(AdaptiveKind.Adagrad, config.Eta, config.Beta1, config.Beta2, config.Tau),
            StrategyName.FedAdam => new AdaptiveServerStep(AdaptiveKind.Adam, config.Eta, config.Beta1, config.Beta2, config.Tau),
            StrategyName.FedYogi => new AdaptiveServerStep(AdaptiveKind.Yogi, config.Eta, config.Beta1, config.Beta2, config.Tau),
            _ => new PlainServerStep(),
        };

        var name = config.Name.ToString().ToLowerInvariant();
        return new AggregationStrategy(privacy is null ? name : $"dp-{name}", combiner, optimizer);
    }
}
