using FedTune.Core.Aggregation;
using FedTune.Core.Configuration;
using FedTune.Core.Privacy;
using FedTune.Orchestration.Plans;

namespace FedTune.Orchestration.Aggregation;

/// <summary>Builds the core library's <see cref="StreamingAggregator"/> from the plan's <see cref="AggregationSettings"/>.</summary>
public static class CoreAggregation
{
    /// <summary>Strategy names the plan may carry (the core library's <see cref="StrategyName"/> values, lowercase).</summary>
    public static bool IsKnownStrategy(string name) => Enum.TryParse<StrategyName>(name, ignoreCase: true, out _);

    public static StreamingAggregator Create(AggregationSettings settings, bool freezeA = false)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (!Enum.TryParse<StrategyName>(settings.Strategy, ignoreCase: true, out var name))
        {
            throw new ArgumentException($"Unknown strategy '{settings.Strategy}'. Fix: use one of {string.Join(", ", Enum.GetNames<StrategyName>()).ToLowerInvariant()}.");
        }
        var defaults = StrategyConfig.For(name);
        double P(string key, double fallback) => settings.Parameters.TryGetValue(key, out var v) ? v : fallback;
        var strategy = defaults with
        {
            ServerLearningRate = P("server_learning_rate", defaults.ServerLearningRate),
            ServerMomentum = P("server_momentum", defaults.ServerMomentum),
            Eta = P("eta", defaults.Eta),
            EtaL = P("eta_l", defaults.EtaL),
            Beta1 = P("beta_1", defaults.Beta1),
            Beta2 = P("beta_2", defaults.Beta2),
            Tau = P("tau", defaults.Tau),
            ProximalMu = P("proximal_mu", defaults.ProximalMu),
            TrimFraction = P("trim_fraction", defaults.TrimFraction),
            NormBound = P("norm_bound", defaults.NormBound),
        };
        var privacy = settings.DifferentialPrivacy is { } dp
            ? new DifferentialPrivacyConfig { ClipNorm = dp.ClippingNorm, NoiseMultiplier = dp.NoiseMultiplier, Delta = dp.Delta }
            : null;
        // Secure (OS-random) noise: a repeated delivery of the activity would draw different noise, but the round record
        // is create-once, so the first result is the one the run keeps and reports.
        var combiner = AggregationStrategy.Create(strategy, privacy, privacy == null ? null : GaussianNoise.Secure());
        var validation = new UpdateValidationConfig
        {
            MaxNormRatio = settings.MaxNormRatio ?? double.PositiveInfinity,
            RequireManifestHash = true,
        };
        return new StreamingAggregator(combiner, new UpdateValidator(validation), privacy)
        {
            IsFrozen = freezeA ? tensor => Core.Adapters.PeftKeys.IsLoraA(tensor, out _) : null,
        };
    }

    /// <summary>The privacy ledger after earlier rounds (null: none yet).</summary>
    public static RdpAccountant? Ledger(string? json) => string.IsNullOrEmpty(json) ? null : RdpAccountant.FromJson(json);
}
