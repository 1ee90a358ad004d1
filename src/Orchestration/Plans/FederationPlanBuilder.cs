using FedTune.Core.Configuration;
using FedTune.Core.Protocol;
using CoreQuorum = FedTune.Core.Configuration.QuorumFailurePolicy;

namespace FedTune.Orchestration.Plans;

/// <summary>Turns a validated configuration (with its <c>federation:</c> section) into a <see cref="FederationPlan"/>.</summary>
public static class FederationPlanBuilder
{
    /// <summary>Parses YAML text and builds the plan; <see cref="ConfigException"/> (file, line, key) for bad input.</summary>
    public static FederationPlan FromYaml(string yaml, string sourceName, string runId, CheckpointSource? startFrom = null,
        MonitorSettings? monitor = null) =>
        FromConfig(FedTuneConfigLoader.Parse(yaml, sourceName), runId, startFrom, monitor);

    public static FederationPlan FromConfig(FedTuneConfig config, string runId, CheckpointSource? startFrom = null, MonitorSettings? monitor = null)
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
