using FedTune.Core.Adapters;
using FedTune.Core.Aggregation;
using FedTune.Core.Configuration;
using FedTune.Core.Privacy;
using FedTune.Core.Protocol;
using FedTune.Orchestration.Orchestrators;
using FedTune.Orchestration.Plans;

namespace FedTune.Orchestration.Aggregation;

/// <summary>Builds the core library's <see cref="StreamingAggregator"/> from the plan's <see cref="AggregationSettings"/>.</summary>
public static class CoreAggregation
{
    /// <summary>Strategy names the plan may carry (the core library's <see cref="StrategyName"/> values, lowercase).</summary>
    public static bool IsKnownStrategy(string name) => Enum.TryParse<StrategyName>(name, ignoreCase: true, out _);

    /// <summary>
    /// The aggregator for one round: the plan's strategy and DP, every update judged against the recipe's LoRA settings
    /// and the base model's shapes, and weights bounded by the plan's weighting (budget = max_steps × batch × accumulation).
    /// </summary>
    public static StreamingAggregator Create(AggregateRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var recipe = request.Recipe;
        double budget = recipe.MaxSteps > 0 ? (double)recipe.MaxSteps * recipe.BatchSize * Math.Max(1, recipe.GradientAccumulationSteps) : double.PositiveInfinity;
        var weighting = new UpdateWeighting { Kind = request.Aggregation.Weighting, Budget = budget, CapMultiple = request.Aggregation.WeightingCap };
        return Create(request.Aggregation, (request.BaseModelShape, request.Lora), weighting);
    }

    /// <param name="settings">The plan's aggregation settings.</param>
    /// <param name="recipe">The base model's shapes and the recipe's LoRA settings every update must match.</param>
    /// <param name="weighting">How declared example counts become weights (default: the declared counts).</param>
    /// <param name="singlePass">False forces the reference path (validate every update, then combine); the benchmark compares both.</param>
    /// <param name="reportLoraProductError">False skips the LoRA product error (the benchmark times the round without it too).</param>
    public static StreamingAggregator Create(AggregationSettings settings, (BaseModelShape BaseModel, LoraAdapterConfig Lora)? recipe = null,
        UpdateWeighting? weighting = null, bool singlePass = true, bool reportLoraProductError = true)
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
            // Under DP every update is clipped to the clip norm and nothing data-dependent may decide who is averaged
            // (that would break the sensitivity bound the accountant assumes): only per-update format and finite checks.
            MaxNormRatio = privacy != null ? double.PositiveInfinity : settings.MaxNormRatio ?? double.PositiveInfinity,
            RequireManifestHash = true,
        };
        return new StreamingAggregator(combiner, new UpdateValidator(validation) { Recipe = recipe }, privacy)
        {
            IsFrozen = settings.FreezeA ? tensor => PeftKeys.IsLoraA(tensor, out _) : null,
            Weighting = weighting ?? UpdateWeighting.Declared,
            SinglePass = singlePass,
            ReportLoraProductError = reportLoraProductError,
        };
    }

    /// <summary>
    /// A hospital's update as the aggregation reads it: the downloaded file, opened once per read. Its SHA-256 and size
    /// were checked against the manifest while the download streamed into the file (<see cref="BlobStore.CopyVerifiedAsync"/>),
    /// so validation does not hash it a second time.
    /// </summary>
    public static ClientUpdate DownloadedUpdate(string hospitalId, double exampleCount, string path, string manifestSha256) =>
        ClientUpdate.FromCheckedWire(hospitalId, exampleCount, () => File.OpenRead(path), manifestSha256);

    /// <summary>The privacy ledger after earlier rounds (null: none yet).</summary>
    public static RdpAccountant? Ledger(string? json) => string.IsNullOrEmpty(json) ? null : RdpAccountant.FromJson(json);
}
