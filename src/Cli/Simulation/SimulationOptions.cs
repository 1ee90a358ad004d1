using System.Globalization;
using FedTune.Core.Data;

namespace FedTune.Cli.Simulation;

/// <summary>What to do with an earlier run in the same output folder.</summary>
public enum ResumeMode
{
    /// <summary>Resume an unfinished run with the same settings; start fresh when there is none.</summary>
    Auto,

    /// <summary>Resume the unfinished run; an error when there is none to resume.</summary>
    Resume,

    /// <summary>Delete the earlier run's state and start again.</summary>
    Fresh,
}

/// <summary>
/// A simulation's settings after defaults, the optional YAML and the command line are combined (in that order).
/// Validated by <see cref="Validate"/>; every error names the option and the fix.
/// </summary>
public sealed record SimulationOptions
{
    public string? ConfigPath { get; init; }

    /// <summary>A local Hugging Face model folder to use as the base model (overrides the config's model).</summary>
    public string? ModelPath { get; init; }
    public int Hospitals { get; init; } = SimulationDefaults.Hospitals;
    public int Rounds { get; init; } = SimulationDefaults.Rounds;

    /// <summary>Optimizer steps each hospital makes per round (the seed's training_arguments.max_steps).</summary>
    public int MaxSteps { get; init; } = SimulationDefaults.MaxSteps;

    public int SeqLength { get; init; } = SimulationDefaults.SeqLength;
    public int BatchSize { get; init; } = SimulationDefaults.BatchSize;
    public double LearningRate { get; init; } = SimulationDefaults.LearningRate;

    /// <summary>How adapters travel between the hospitals and the orchestrator, both ways (the recipe's train.wire_precision).</summary>
    public FedTune.Core.Compression.WirePrecision WirePrecision { get; init; } = FedTune.Core.Compression.WirePrecision.Fp32;

    /// <summary>How the hospitals' shards differ: by specialty (the default), by topic, or IID.</summary>
    public HospitalPartitioning Partitioning { get; init; } = HospitalPartitioning.BySpecialty;

    /// <summary>Alpaca JSON/JSONL file to split; null means the shared medical data.</summary>
    public string? DataPath { get; init; }

    /// <summary>Records held out for evaluation (never in any hospital's shard).</summary>
    public int EvalExamples { get; init; } = SimulationDefaults.EvalExamples;

    /// <summary>Records each hospital receives at most (0: all of its share).</summary>
    public int RecordsPerHospital { get; init; } = SimulationDefaults.RecordsPerHospital;

    public int Seed { get; init; } = SimulationDefaults.Seed;

    /// <summary>The run folder (report, shards, models); default runs/&lt;timestamp&gt; under the current folder.</summary>
    public string? OutputDirectory { get; init; }

    /// <summary>Also train and evaluate the centralized and local-only baselines on the same splits (on by default in `fedtune simulate`).</summary>
    public bool Compare { get; init; }

    public ResumeMode Resume { get; init; } = ResumeMode.Auto;

    /// <summary>Train the baselines even when an identical earlier run's are cached (<see cref="BaselineCache"/>), refreshing the cache.</summary>
    public bool RetrainBaselines { get; init; }

    /// <summary>Where finished baselines are kept and reused from; null: <see cref="BaselineCache.Default"/>.</summary>
    public BaselineCache? BaselineCache { get; init; }

    /// <summary>Canary records (fake patient, fake record number) planted in hospital-1's training shard; 0 plants none.</summary>
    public int Canaries { get; init; }

    /// <summary>Candidate numbers each canary's secret is ranked among (exposure tops out at log2 of this).</summary>
    public int CanaryCandidates { get; init; } = SimulationDefaults.CanaryCandidates;

    /// <summary>Run the privacy audit (membership inference, canary exposure) after the run and add it to report.md (on by default in `fedtune simulate`).</summary>
    public bool Audit { get; init; }

    /// <summary>
    /// Also run the federation with differential privacy (<see cref="PrivateArm"/>) beside the plain one: --dp, or a YAML
    /// with train.differential_privacy or federation.differential_privacy.
    /// </summary>
    public bool Dp { get; init; }

    /// <summary>Bootstrap resamples for the audit's confidence intervals.</summary>
    public int AuditBootstrap { get; init; } = SimulationDefaults.AuditBootstrap;

    /// <summary>Members and as many non-members the run's own audit scores at most (seeded sample).</summary>
    public int AuditRecordsPerSide { get; init; } = SimulationDefaults.AuditRecordsPerSide;

    /// <summary>Blob/queue/table storage; null starts a private Azurite.</summary>
    public string? StorageConnectionString { get; init; }

    /// <summary>Per-round deadline after which a hospital that has not uploaded is a straggler.</summary>
    public TimeSpan RoundDeadline { get; init; } = SimulationDefaults.RoundDeadline;

    /// <summary>How long storage may stay unreachable (retried with backoff, Azurite restarted) before the run stops, marked failed.</summary>
    public TimeSpan StorageOutageLimit { get; init; } = SimulationDefaults.StorageOutageLimit;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting and its fix.</summary>
    public SimulationOptions Validate()
    {
        Require(Hospitals is >= 1 and <= 64, "--hospitals", Hospitals, "between 1 and 64");
        Require(Rounds is >= 1 and <= 10_000, "--rounds", Rounds, "between 1 and 10000");
        Require(MaxSteps >= 1, "--max-steps", MaxSteps, "at least 1 (optimizer steps per hospital per round)");
        Require(SeqLength is >= 16 and <= 8192, "--seq-length", SeqLength, "between 16 and 8192 tokens");
        Require(BatchSize is >= 1 and <= 1024, "--batch-size", BatchSize, "between 1 and 1024");
        Require(LearningRate is > 0 and < 1 && double.IsFinite(LearningRate), "--learning-rate", LearningRate, "above 0 and below 1");
        Require(EvalExamples >= 1, "--eval-examples", EvalExamples, "at least 1");
        Require(RecordsPerHospital >= 0, "--records-per-hospital", RecordsPerHospital, "0 (all) or more");
        Require(Canaries is >= 0 and <= 1000, "--canaries", Canaries, "between 0 (none) and 1000");
        Require(CanaryCandidates is >= 2 and <= 1_000_000, "--canary-candidates", CanaryCandidates, "between 2 and 1000000");
        Require(AuditBootstrap is >= 10 and <= 100_000, "--audit-bootstrap", AuditBootstrap, "between 10 and 100000");
        Require(RoundDeadline > TimeSpan.Zero, "--round-deadline", RoundDeadline, "a positive duration");
        Require(StorageOutageLimit > TimeSpan.Zero, "--storage-outage-limit", StorageOutageLimit, "a positive duration");
        if (DataPath is not null && !File.Exists(DataPath))
        {
            throw new ArgumentException($"--data: the file '{DataPath}' does not exist. Fix: give an Alpaca JSON or JSONL file (records with instruction, input, output).");
        }
        if (ConfigPath is not null && !File.Exists(ConfigPath))
        {
            throw new ArgumentException($"The configuration file '{ConfigPath}' does not exist. Fix: give the path of a FedTune YAML (the seed configuration), or leave it out to use the defaults.");
        }
        return this;
    }

    /// <summary>How the report and the progress lines name <see cref="Partitioning"/>.</summary>
    public string PartitioningLabel => Partitioning switch
    {
        HospitalPartitioning.BySpecialty => "non-IID by specialty",
        HospitalPartitioning.ByTopic => "non-IID by topic",
        HospitalPartitioning.DirichletByTopic => "non-IID by topic (Dirichlet)",
        _ => "IID",
    };

    private static void Require(bool ok, string option, object value, string expected)
    {
        if (!ok)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"{option} is {value}; it must be {expected}."));
        }
    }
}
