using System.Globalization;
using FedTune.Core.Configuration;

namespace FedTune.Cli.Simulation;

/// <summary>
/// The federation with differential privacy that a simulation runs beside the plain one when asked (--dp, or a YAML
/// with <c>train.differential_privacy</c> or <c>federation.differential_privacy</c>): the same hospitals, data, recipe,
/// rounds and seed, plus DP, so the report can set its utility and its audit beside the plain federation's.
/// </summary>
public static class PrivateArm
{
    /// <summary>The arm's name in the report, the scores and the audit.</summary>
    public const string Name = "federated-dp";

    /// <summary>What the tables and the plot call it.</summary>
    public const string Label = "federated + DP";

    /// <summary>Suffix of the DP federation's run id (the plain run's id + this).</summary>
    public const string RunIdSuffix = "-dp";

    /// <summary>
    /// Record-level DP-SGD when --dp is given and the YAML configures no DP. Clip and noise were chosen on the default
    /// scenario (docs/simulate.md, "The DP arm").
    /// </summary>
    public static readonly RecordPrivacyConfig DefaultRecordPrivacy = new() { ClipNorm = 1.0, NoiseMultiplier = 1.0 };

    /// <summary>
    /// The plain federation's configuration (no DP of either level) and the DP arm's: the configuration's own DP
    /// sections when it has any, else <see cref="DefaultRecordPrivacy"/>; null when DP is not asked for.
    /// </summary>
    public static (FedTuneConfig Plain, FedTuneConfig? Private) Split(FedTuneConfig config, bool asked)
    {
        ArgumentNullException.ThrowIfNull(config);
        var plain = config with
        {
            Recipe = config.Recipe with { RecordPrivacy = null },
            Federation = config.Federation with { DifferentialPrivacy = null },
        };
        bool configured = config.Recipe.RecordPrivacy is not null || config.Federation.DifferentialPrivacy is not null;
        if (!asked && !configured) return (plain, null);
        var withDp = configured ? config : config with { Recipe = config.Recipe with { RecordPrivacy = DefaultRecordPrivacy } };
        return (plain, withDp);
    }

    /// <summary>The DP the arm runs with, in words (each level it has, with its parameters).</summary>
    public static string Describe(FedTuneConfig privateConfig)
    {
        ArgumentNullException.ThrowIfNull(privateConfig);
        var c = CultureInfo.InvariantCulture;
        var parts = new List<string>();
        if (privateConfig.Recipe.RecordPrivacy is { } r)
        {
            parts.Add(string.Create(c, $"record-level DP-SGD at every hospital (each record's gradient clipped to {r.ClipNorm:G4}, Gaussian noise multiplier {r.NoiseMultiplier:G4}, Poisson-sampled batches, δ {r.Delta:G3})"));
        }
        if (privateConfig.Federation.DifferentialPrivacy is { } h)
        {
            parts.Add(string.Create(c, $"hospital-level DP-FedAvg at the orchestrator (each hospital's update clipped to {h.ClipNorm:G4}, noise multiplier {h.NoiseMultiplier:G4}, δ {h.Delta:G3})"));
        }
        return string.Join("; ", parts);
    }
}
