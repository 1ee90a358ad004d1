using FedTune.Core.Configuration;
using FedTune.Core.Data;

namespace FedTune.Cli.Simulation;

/// <summary>Values the command line gave explicitly (null = not given), applied over the YAML and the defaults.</summary>
public sealed record SimulationOverrides
{
    public string? ConfigPath { get; init; }
    public string? ModelPath { get; init; }
    public int? Hospitals { get; init; }
    public int? Rounds { get; init; }
    public int? MaxSteps { get; init; }
    public int? SeqLength { get; init; }
    public int? BatchSize { get; init; }
    public double? LearningRate { get; init; }

    /// <summary>--wire-precision: how adapters travel both ways (null: the YAML's train.wire_precision, else fp32).</summary>
    public FedTune.Core.Compression.WirePrecision? WirePrecision { get; init; }
    public bool NonIid { get; init; }

    /// <summary>--partition: iid, topic or specialty (null: not given).</summary>
    public HospitalPartitioning? Partitioning { get; init; }
    public string? DataPath { get; init; }
    public int? EvalExamples { get; init; }
    public int? RecordsPerHospital { get; init; }
    public int? Seed { get; init; }
    public string? OutputDirectory { get; init; }
    public bool Compare { get; init; }

    /// <summary>--no-compare: skip the centralized and local-only baselines (they run by default).</summary>
    public bool NoCompare { get; init; }

    /// <summary>--no-audit: skip the privacy audit (it runs by default).</summary>
    public bool NoAudit { get; init; }

    /// <summary>--dp: also run the federation with differential privacy as a further arm.</summary>
    public bool Dp { get; init; }

    /// <summary>--retrain-baselines: train the baselines even when an identical earlier run's are cached.</summary>
    public bool RetrainBaselines { get; init; }
    public bool Resume { get; init; }
    public bool Fresh { get; init; }
    public string? StorageConnectionString { get; init; }
    public TimeSpan? RoundDeadline { get; init; }
    public TimeSpan? StorageOutageLimit { get; init; }
    public int? Canaries { get; init; }
    public int? CanaryCandidates { get; init; }
    public bool Audit { get; init; }
    public int? AuditBootstrap { get; init; }
}

/// <summary>Combines defaults, the YAML (when given) and the command line into validated <see cref="SimulationOptions"/>.</summary>
public static class SimulationOptionsBinder
{
    public static SimulationOptions Bind(SimulationOverrides cli, Func<string, string?>? environment = null)
    {
        ArgumentNullException.ThrowIfNull(cli);
        environment ??= Environment.GetEnvironmentVariable;
        if (cli.NonIid && cli.Partitioning is { } given && given != HospitalPartitioning.ByTopic)
        {
            throw new ArgumentException($"--non-iid (by topic) contradicts --partition {given}. Fix: give one of them.");
        }
        if (cli.Resume && cli.Fresh)
        {
            throw new ArgumentException("--resume and --fresh contradict each other. Fix: give one of them (or neither: resume when possible).");
        }
        var options = new SimulationOptions();
        if (cli.ConfigPath is not null)
        {
            if (!File.Exists(cli.ConfigPath))
            {
                throw new ArgumentException($"The configuration file '{cli.ConfigPath}' does not exist. Fix: give the path of a FedTune YAML (the seed configuration), or leave it out to use the defaults.");
            }
            options = FromConfig(FedTuneConfigLoader.LoadFile(cli.ConfigPath)) with { ConfigPath = Path.GetFullPath(cli.ConfigPath) };
        }
        options = options with
        {
            ModelPath = cli.ModelPath is null ? null : Path.GetFullPath(cli.ModelPath),
            Hospitals = cli.Hospitals ?? options.Hospitals,
            Rounds = cli.Rounds ?? options.Rounds,
            MaxSteps = cli.MaxSteps ?? options.MaxSteps,
            SeqLength = cli.SeqLength ?? options.SeqLength,
            BatchSize = cli.BatchSize ?? options.BatchSize,
            LearningRate = cli.LearningRate ?? options.LearningRate,
            WirePrecision = cli.WirePrecision ?? options.WirePrecision,
            Partitioning = cli.Partitioning ?? (cli.NonIid ? HospitalPartitioning.ByTopic : options.Partitioning),
            DataPath = cli.DataPath is null ? null : Path.GetFullPath(cli.DataPath),
            EvalExamples = cli.EvalExamples ?? options.EvalExamples,
            RecordsPerHospital = cli.RecordsPerHospital ?? options.RecordsPerHospital,
            Seed = cli.Seed ?? options.Seed,
            OutputDirectory = cli.OutputDirectory is null ? null : Path.GetFullPath(cli.OutputDirectory),
            Compare = !cli.NoCompare,
            RetrainBaselines = cli.RetrainBaselines,
            BaselineCache = NullIfEmpty(environment("FEDTUNE_BASELINE_CACHE")) is { } baselines ? new BaselineCache(Path.GetFullPath(baselines)) : null,
            Resume = cli.Resume ? ResumeMode.Resume : cli.Fresh ? ResumeMode.Fresh : ResumeMode.Auto,
            StorageConnectionString = cli.StorageConnectionString ?? NullIfEmpty(environment("FEDTUNE_STORAGE")),
            RoundDeadline = cli.RoundDeadline ?? options.RoundDeadline,
            StorageOutageLimit = cli.StorageOutageLimit ?? options.StorageOutageLimit,
            Canaries = cli.Canaries ?? (cli.NoAudit ? options.Canaries : SimulationDefaults.Canaries),
            CanaryCandidates = cli.CanaryCandidates ?? options.CanaryCandidates,
            Audit = !cli.NoAudit,
            Dp = cli.Dp || options.Dp,
            AuditBootstrap = cli.AuditBootstrap ?? options.AuditBootstrap,
        };
        return options.Validate();
    }

    /// <summary>The simulation settings a FedTune YAML implies (federation rounds and hospitals, training arguments).</summary>
    public static SimulationOptions FromConfig(FedTuneConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var recipe = config.Recipe;
        var fed = config.Federation;
        return new SimulationOptions
        {
            Rounds = fed.Rounds,
            Hospitals = fed.Hospitals.Count > 0 ? fed.Hospitals.Count : SimulationDefaults.Hospitals,
            MaxSteps = recipe.MaxSteps > 0 ? recipe.MaxSteps : SimulationDefaults.MaxSteps,
            SeqLength = recipe.SeqLength,
            BatchSize = recipe.BatchSize,
            LearningRate = recipe.LearningRate,
            WirePrecision = recipe.WirePrecision,
            Seed = fed.Seed,
            RoundDeadline = fed.RoundDeadline,
            Dp = recipe.RecordPrivacy is not null || fed.DifferentialPrivacy is not null,
        };
    }

    private static string? NullIfEmpty(string? s) => string.IsNullOrWhiteSpace(s) ? null : s;
}
