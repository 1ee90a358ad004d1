namespace FedTune.Core.Configuration;

/// <summary>
/// <c>federation.secure_aggregation:</c> pairwise-masked secure aggregation (Bonawitz et al. 2017; SecAgg+, Bell et al.
/// 2020): the orchestrator learns only the sum of the round's updates. What it changes: each agent checks its update
/// is finite and (with DP) clips its delta before masking; the server checks only the sum; strategies that need single
/// updates (median, trimmed_mean, norm_bounded) and freeze_a (whose check compares single lora_A tensors) are refused;
/// DP noise is added by the orchestrator to the unmasked sum; uploads are 8-byte ring elements (wire_precision still
/// compresses the download).
/// </summary>
public sealed record SecureAggregationConfig
{
    /// <summary>Shares that recover a hospital's secrets, and the fewest survivors a round can finish with; null: a majority of the round's hospitals.</summary>
    public int? Threshold { get; init; }

    /// <summary>Masking neighbours per hospital (SecAgg+, even); null: every pair (classic SecAgg).</summary>
    public int? Neighbours { get; init; }

    /// <summary>Why <paramref name="config"/> cannot run with secure aggregation, or null.</summary>
    public static string? RefusalFor(FedTuneConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var strategy = config.Federation.Strategy.Name;
        if (strategy is StrategyName.Median or StrategyName.TrimmedMean or StrategyName.NormBounded)
        {
            return $"secure_aggregation gives the server only the sum of the updates, but strategy {strategy.ToString().ToLowerInvariant()} needs each update on its own. " +
                   "Fix: use fedavg, fedavgm, fedprox, fedadam, fedyogi or fedadagrad, or turn secure_aggregation off.";
        }

        if (config.Federation.Weighting == Aggregation.WeightingKind.Capped || (config.Federation.Weighting is null && config.Recipe.MaxSteps <= 0))
        {
            return "secure_aggregation hides each hospital's declared example count, so weighting: capped (a multiple of the round's median count) cannot be applied. " +
                   "Fix: set max_steps and weighting: budget, or weighting: uniform, or turn secure_aggregation off.";
        }

        if (config.Recipe.Lora.FreezeA)
        {
            return "secure_aggregation cannot check that each hospital kept lora_A frozen (freeze_a compares single updates). Fix: set freeze_a: false or turn secure_aggregation off.";
        }

        return null;
    }
}
