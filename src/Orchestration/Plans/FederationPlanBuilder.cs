using FedTune.Core.Adapters;
using FedTune.Core.Aggregation;
using FedTune.Core.Configuration;
using FedTune.Core.Protocol;
using CoreQuorum = FedTune.Core.Configuration.QuorumFailurePolicy;

namespace FedTune.Orchestration.Plans;

/// <summary>Turns a validated configuration (with its <c>federation:</c> section) into a <see cref="FederationPlan"/>.</summary>
public static class FederationPlanBuilder
{
    /// <summary>Parses YAML text and builds the plan; <see cref="ConfigException"/> (file, line, key) for bad input.</summary>
    public static FederationPlan FromYaml(string yaml, string sourceName, string runId, CheckpointSource? startFrom = null,
        MonitorSettings? monitor = null, BaseModelShape? baseModel = null) =>
        FromConfig(FedTuneConfigLoader.Parse(yaml, sourceName), runId, startFrom, monitor, baseModel);

    /// <param name="baseModel">
    /// The base model's dimensions; when null they are read from the config.json of the model the configuration names,
    /// found like every model (a path, <c>$FEDTUNE_MODELS/org/name</c> or the Hugging Face cache; config.json alone is enough).
    /// </param>
    public static FederationPlan FromConfig(FedTuneConfig config, string runId, CheckpointSource? startFrom = null, MonitorSettings? monitor = null,
        BaseModelShape? baseModel = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        var federation = config.Federation;
        BlobLayout.ValidateRunId(runId);
        if (federation.Hospitals.Count == 0)
        {
            throw new ConfigException(
                $"{config.SourcePath ?? "configuration"}: federation.hospitals is empty. Fix: list the hospitals, e.g. 'hospitals: [{{id: hospital-a}}, {{id: hospital-b}}]'.");
        }
        var hospitals = federation.Hospitals.Select(h => BlobLayout.NormalizeHospitalId(h.Id)).Order(StringComparer.Ordinal).ToArray();
        var strategyName = federation.Strategy.Name.ToString().ToLowerInvariant();

        var strategy = federation.Strategy;
        return new FederationPlan
        {
            RunId = runId,
            BaseModelShape = baseModel ?? ShapeOf(config),
            Rounds = federation.Rounds,
            Hospitals = hospitals,
            FractionFit = federation.FractionFit,
            MinFitClients = federation.MinFitClients,
            MinAvailableClients = federation.MinAvailableClients,
            RoundDeadline = federation.RoundDeadline,
            OnQuorumFailure = federation.OnQuorumFailure == CoreQuorum.Retry ? QuorumFailurePolicy.Retry : QuorumFailurePolicy.Fail,
            MaxRoundRetries = federation.MaxRetries,
            Seed = federation.Seed,
            Recipe = config.Recipe,
            Aggregation = new AggregationSettings
            {
                Strategy = strategyName,
                Parameters = new Dictionary<string, double>(StringComparer.Ordinal)
                {
                    ["server_learning_rate"] = strategy.ServerLearningRate,
                    ["server_momentum"] = strategy.ServerMomentum,
                    ["eta"] = strategy.Eta,
                    ["eta_l"] = strategy.EtaL,
                    ["beta_1"] = strategy.Beta1,
                    ["beta_2"] = strategy.Beta2,
                    ["tau"] = strategy.Tau,
                    ["trim_fraction"] = strategy.TrimFraction,
                    ["norm_bound"] = strategy.NormBound,
                    ["proximal_mu"] = strategy.ProximalMu,
                },
                FreezeA = config.Recipe.Lora.FreezeA,
                Weighting = WeightingFor(config),
                WeightingCap = federation.WeightingCap,
                MaxNormRatio = federation.Validation.MaxNormRatio > 0 ? federation.Validation.MaxNormRatio : null,
                DifferentialPrivacy = federation.DifferentialPrivacy is { } dp
                    ? new DifferentialPrivacySettings { ClippingNorm = dp.ClipNorm, NoiseMultiplier = dp.NoiseMultiplier, Delta = dp.Delta }
                    : null,
            },
            SecureAggregation = federation.SecureAggregation,
            SaveEveryRound = config.SaveEveryRound,
            SaveTotalLimit = config.Recipe.SaveTotalLimit ?? 0,
            Monitor = monitor ?? MonitorFor(federation.RoundDeadline),
            StartFrom = startFrom,
        };
    }

    /// <summary>
    /// The configured weighting, or the safe default: budget (max_steps × batch × accumulation) when the recipe trains a
    /// fixed number of steps, capped (2 × the median) when it trains by epochs, where a round has no fixed budget.
    /// </summary>
    public static WeightingKind WeightingFor(FedTuneConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        bool bySteps = config.Recipe.MaxSteps > 0;
        return config.Federation.Weighting switch
        {
            WeightingKind.Budget when !bySteps => throw new ConfigException(
                $"{config.SourcePath ?? "configuration"}: federation.weighting is budget but training_arguments.max_steps is {config.Recipe.MaxSteps}, so a round has no fixed example budget. Fix: set max_steps, or use weighting: capped or uniform."),
            { } chosen => chosen,
            null => bySteps ? WeightingKind.Budget : WeightingKind.Capped,
        };
    }

    /// <summary>The named base model's dimensions from its config.json on this machine; a ConfigException says where to put it.</summary>
    public static BaseModelShape ShapeOf(FedTuneConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        try
        {
            return BaseModelShape.FromFolder(ModelLocator.Resolve(config.Recipe.BaseModel).Path);
        }
        catch (Exception e) when (e is ArtifactNotFoundException or InvalidDataException or IOException)
        {
            throw new ConfigException(
                $"{config.SourcePath ?? "configuration"}: the orchestrator needs the base model's config.json to size the round-0 adapter and check uploads: {e.Message}");
        }
    }

    /// <summary>
    /// The safety-net poll for a deadline (uploads arrive as events; this only catches a lost one): first full check
    /// after 1/10 of it (10 s to 2 min), backing off to 1/4 (30 s to 10 min).
    /// </summary>
    public static MonitorSettings MonitorFor(TimeSpan deadline) => new()
    {
        FirstPoll = Clamp(deadline / 10, TimeSpan.FromSeconds(10), TimeSpan.FromMinutes(2)),
        MaxPoll = Clamp(deadline / 4, TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(10)),
        BackoffFactor = 2,
    };

    private static TimeSpan Clamp(TimeSpan value, TimeSpan min, TimeSpan max) => value < min ? min : value > max ? max : value;
}
