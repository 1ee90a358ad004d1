namespace FedTune.Cli.Simulation;

/// <summary>
/// Defaults sized for a 2-core CPU: three hospitals with one specialty each, three rounds of ten LoRA steps per hospital,
/// the centralized and local-only baselines and the privacy audit. Every value is one flag away (--hospitals, --rounds,
/// --max-steps, --no-compare, --no-audit, ...).
/// </summary>
public static class SimulationDefaults
{
    public const int Hospitals = 3;
    public const int Rounds = 3;
    public const int MaxSteps = 10;
    public const int SeqLength = 128;
    /// <summary>Measured on seed 1 (docs/simulate.md): 8 took the federation from -7.6% to -12.2% against the base model, where 4 rounds of batch 4 reached -9.3%.</summary>
    public const int BatchSize = 8;
    /// <summary>Measured on the default scenario (docs/simulate.md): 3e-3 learned too little in 30 steps, 3e-2 diverged, 1e-2 separated the arms best.</summary>
    public const double LearningRate = 1e-2;
    public const int EvalExamples = 100;
    public const int RecordsPerHospital = 400;
    public const int Seed = 42;

    /// <summary>
    /// How often the run's private Azurite saves its metadata (its own default is 5 s): a crashed emulator loses the writes
    /// it acknowledged since its last save, and a lost Durable Task message stalls the run, so keep that window short.
    /// </summary>
    public static readonly TimeSpan AzuriteSaveInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>How often simulate checks that its private Azurite still runs (and starts it again when it stopped).</summary>
    public static readonly TimeSpan AzuriteWatchInterval = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// The simulation's orchestrator host looks for upload notices' folders and polls its Durable queues this often (the
    /// local defaults are 250 ms): with a handful of hospitals on one machine the extra requests cost nothing, and each
    /// of the two waits sits between a hospital's last upload and the aggregation.
    /// </summary>
    public static readonly TimeSpan OrchestratorPollInterval = TimeSpan.FromMilliseconds(50);

    /// <summary>Canaries planted in hospital-1's shard when the audit runs and --canaries is not given: the audit shows their exposure per arm.</summary>
    public const int Canaries = 2;

    /// <summary>Candidates each canary secret is ranked among in the audit (at most log2(100) ≈ 6.6 bits of exposure; each candidate is scored under every audited model).</summary>
    public const int CanaryCandidates = 100;

    /// <summary>Bootstrap resamples behind the audit's confidence intervals.</summary>
    public const int AuditBootstrap = 1000;

    /// <summary>Members (and as many non-members) the run's own audit scores: enough for AUROC intervals about ±0.06 wide, in seconds.</summary>
    public const int AuditRecordsPerSide = 200;
    public static readonly TimeSpan RoundDeadline = TimeSpan.FromMinutes(20);

    /// <summary>How long storage may stay unreachable before the run stops, marked failed (resumable).</summary>
    public static readonly TimeSpan StorageOutageLimit = TimeSpan.FromMinutes(10);
}
