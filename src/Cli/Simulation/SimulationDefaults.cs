namespace FedTune.Cli.Simulation;

/// <summary>
/// Defaults sized for a 2-core CPU: the default `fedtune simulate` finishes in about ten minutes on such a machine and
/// still lowers held-out perplexity measurably. Every value is one flag away (--hospitals, --rounds, --max-steps, ...).
/// </summary>
public static class SimulationDefaults
{
    public const int Hospitals = 3;
    public const int Rounds = 3;
    public const int MaxSteps = 10;
    public const int SeqLength = 128;
    public const int BatchSize = 4;
    public const double LearningRate = 1e-3;
    public const int EvalExamples = 100;
    public const int RecordsPerHospital = 400;
    public const int Seed = 42;

    /// <summary>Candidates each canary secret is ranked among in the audit (at most log2(1000) ≈ 10 bits of exposure).</summary>
    public const int CanaryCandidates = 1000;

    /// <summary>Bootstrap resamples behind the audit's confidence intervals.</summary>
    public const int AuditBootstrap = 1000;
    public static readonly TimeSpan RoundDeadline = TimeSpan.FromMinutes(20);

    /// <summary>How long storage may stay unreachable before the run stops, marked failed (resumable).</summary>
    public static readonly TimeSpan StorageOutageLimit = TimeSpan.FromMinutes(10);
}
