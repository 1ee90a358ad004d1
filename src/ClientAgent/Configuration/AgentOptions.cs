namespace FedTune.ClientAgent.Configuration;

/// <summary>
/// Everything the hospital agent is configured with. Bound from the root of the configuration:
/// appsettings.json, then environment variables prefixed <c>FEDTUNE_AGENT_</c> (<c>__</c> separates sections, e.g.
/// <c>FEDTUNE_AGENT_Storage__Mode</c>), then the command line (<c>--HospitalId st-marys</c>, <c>--Storage:Mode Sas</c>).
/// Validated at start by <see cref="AgentOptionsValidator"/>.
/// </summary>
public sealed class AgentOptions
{
    /// <summary>This hospital's id: its container is <c>hospital-&lt;id&gt;</c>.</summary>
    public string HospitalId { get; set; } = "";

    public StorageOptions Storage { get; set; } = new();

    public DataOptions Data { get; set; } = new();

    /// <summary>Folder of the base model in Hugging Face layout (config.json, model.safetensors, tokenizer.json).</summary>
    public string ModelPath { get; set; } = "";

    /// <summary>
    /// The base model name this folder holds, compared with each task's base model (e.g. <c>EleutherAI/pythia-70m</c>).
    /// Empty: config.json's <c>_name_or_path</c>, else the folder's name.
    /// </summary>
    public string? ModelName { get; set; }

    /// <summary>Where training runs: cpu, cuda or auto (cuda when TorchSharp sees a GPU).</summary>
    public DeviceChoice Device { get; set; } = DeviceChoice.Auto;

    /// <summary>Local folder for per-task state, downloads and trainer checkpoints (survives restarts).</summary>
    public string WorkPath { get; set; } = "";

    public PollingOptions Polling { get; set; } = new();

    /// <summary>How the held-out split is scored (how to train comes from each task's recipe, never from here).</summary>
    public EvaluationOptions Evaluation { get; set; } = new();

    public LeaseOptions Lease { get; set; } = new();

    /// <summary>Whether the loaded base model is kept between the tasks of one run, and when it is let go.</summary>
    public ModelCacheOptions ModelCache { get; set; } = new();

    public RetryOptions Upload { get; set; } = new();

    /// <summary>How long a stop request (SIGTERM, service stop) may take before the host gives up waiting.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Stop after this many tasks have reached a final state (0: run until stopped). For tests and one-shot runs.</summary>
    public int ExitAfterTasks { get; set; }

    /// <summary>Crash-test support: park the agent at a point of a task so a test can kill it there. Never set in production.</summary>
    public FaultInjectionOptions FaultInjection { get; set; } = new();
}

/// <summary>How the agent authenticates to Blob Storage.</summary>
public enum CredentialMode
{
    /// <summary>Entra ID via DefaultAzureCredential (managed identity, workload identity, Azure CLI, ...). Needs <see cref="StorageOptions.Endpoint"/>.</summary>
    DefaultAzureCredential,

    /// <summary>A specific user-assigned managed identity (<see cref="StorageOptions.ManagedIdentityClientId"/>).</summary>
    ManagedIdentity,

    /// <summary>A SAS token scoped to the hospital's container (<see cref="StorageOptions.SasToken"/>).</summary>
    Sas,

    /// <summary>A connection string, for Azurite and local runs (<see cref="StorageOptions.ConnectionString"/>).</summary>
    ConnectionString,
}

public sealed class StorageOptions
{
    public CredentialMode Mode { get; set; } = CredentialMode.DefaultAzureCredential;

    /// <summary>Blob service endpoint, e.g. <c>https://acct.blob.core.windows.net</c>.</summary>
    public Uri? Endpoint { get; set; }

    public string? ManagedIdentityClientId { get; set; }

    /// <summary>A SAS token (with or without the leading '?'); pass it by environment variable, never in a file.</summary>
    public string? SasToken { get; set; }

    public string? ConnectionString { get; set; }

    /// <summary>Allow a connection string with an AccountKey in appsettings.json (off: keys belong in the environment or a secret store).</summary>
    public bool AllowAccountKeyInSettingsFile { get; set; }
}

/// <summary>Where training runs.</summary>
public enum DeviceChoice
{
    Auto,
    Cpu,
    Cuda,
}

/// <summary>The on-disk layout of the hospital's data files.</summary>
public enum DataFormat
{
    /// <summary>By extension: .json (Alpaca JSON array), .jsonl/.ndjson (JSON Lines), .csv.</summary>
    Auto,
    AlpacaJson,
    Jsonl,
    Csv,
}

public sealed class DataOptions
{
    /// <summary>The hospital's private data files (all are read and concatenated in this order).</summary>
    public List<string> Paths { get; set; } = [];

    public DataFormat Format { get; set; } = DataFormat.Auto;

    /// <summary>Field (JSON) or column (CSV) names for the three Alpaca fields.</summary>
    public string InstructionColumn { get; set; } = "instruction";
    public string InputColumn { get; set; } = "input";
    public string OutputColumn { get; set; } = "output";

    /// <summary>Fraction of the records kept out of training to evaluate on (0 disables evaluation).</summary>
    public double HeldOutFraction { get; set; } = 0.1;

    /// <summary>Seed of the hospital's own train/held-out split (fixed across rounds so held-out stays held out).</summary>
    public int SplitSeed { get; set; } = 20_240_917;

    /// <summary>A record with more characters than this is refused as bad input (not silently truncated).</summary>
    public int MaxRecordCharacters { get; set; } = 32_768;

    /// <summary>At most this many held-out examples are evaluated per round (bounds evaluation time).</summary>
    public int MaxEvalExamples { get; set; } = 256;
}

/// <summary>Local settings of the held-out evaluation (memory on this machine; the result does not depend on them).</summary>
public sealed class EvaluationOptions
{
    /// <summary>Held-out examples scored per forward pass.</summary>
    public int BatchSize { get; set; } = 4;
}

/// <summary>
/// Keeping the loaded (and quantized) base model between the tasks of one run, so only the run's first round pays for
/// loading it. Each task still starts from the round's global adapter on the model exactly as loaded; the trained
/// adapter is bit-identical either way.
/// </summary>
public sealed class ModelCacheOptions
{
    /// <summary>Keep the model after a task for the run's next task (same run, model folder, quantization and device).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Let the kept model go when the machine has less memory available than this (MiB), checked after each task and while idle.</summary>
    public int MinAvailableMemoryMiB { get; set; } = 1024;

    /// <summary>Let the kept model go after this long without a task (the run has probably ended).</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(10);
}

public sealed class PollingOptions
{
    /// <summary>Shortest wait between looks for a task (used right after a task was found or finished).</summary>
    public TimeSpan MinInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Longest wait between looks when nothing is there (the backoff grows up to this).</summary>
    public TimeSpan MaxInterval { get; set; } = TimeSpan.FromMinutes(2);

    public double BackoffFactor { get; set; } = 2.0;

    /// <summary>Each wait is scaled by a random factor in [1 - Jitter, 1 + Jitter] so many agents do not poll in step.</summary>
    public double Jitter { get; set; } = 0.25;
}

public sealed class LeaseOptions
{
    /// <summary>Blob lease length (15-60 s, Azure's bounds); a crashed agent's lease expires after this.</summary>
    public TimeSpan Duration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often the lease is renewed while the task runs (well under <see cref="Duration"/>).</summary>
    public TimeSpan RenewInterval { get; set; } = TimeSpan.FromSeconds(10);
}

public sealed class RetryOptions
{
    public int MaxAttempts { get; set; } = 8;
    public TimeSpan FirstDelay { get; set; } = TimeSpan.FromSeconds(1);
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromSeconds(60);
}

/// <summary>Where a crash test parks the agent (it then waits until killed, or for <see cref="FaultInjectionOptions.PauseFor"/>).</summary>
public enum FaultPoint
{
    None,

    /// <summary>After part of the global adapter was written to the local download file.</summary>
    Download,

    /// <summary>After the trainer saved its first checkpoint.</summary>
    Training,

    /// <summary>After the adapter blob was uploaded and before the manifest.</summary>
    Upload,
}

public sealed class FaultInjectionOptions
{
    public FaultPoint PauseAt { get; set; } = FaultPoint.None;

    /// <summary>Only this round's task parks (0: every round's).</summary>
    public int Round { get; set; }

    /// <summary>How long the agent stays parked; zero parks it until it is stopped or killed.</summary>
    public TimeSpan PauseFor { get; set; } = TimeSpan.Zero;
}
