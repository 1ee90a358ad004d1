using FedTune.Core.Configuration;

namespace FedTune.Core.Protocol;

/// <summary>
/// Written by the agent after its adapter blob, to <see cref="BlobLayout.UpdateManifest"/>: the orchestrator
/// treats a round's upload as complete only when this exists.
/// </summary>
public sealed record UpdateManifest
{
    public const int CurrentSchemaVersion = 1;

    public int SchemaVersion { get; init; } = CurrentSchemaVersion;
    public required string RunId { get; init; }
    public required int Round { get; init; }
    public int Attempt { get; init; }
    public required string HospitalId { get; init; }
    /// <summary>The uploaded adapter (container, blob, SHA-256, bytes).</summary>
    public required ContentRef Adapter { get; init; }
    /// <summary>SHA-256 of the global adapter the hospital started from (null when it started from a fresh LoRA).</summary>
    public string? BaseGlobalSha256 { get; init; }
    /// <summary>Training examples used this round (the FedAvg weight).</summary>
    public required long ExampleCount { get; init; }
    public required UpdateMetrics Metrics { get; init; }
    public required UpdateTimings Timings { get; init; }
    /// <summary>The recipe as the agent actually ran it (read back from its model and trainer, not copied from the task).</summary>
    public TrainingAsRun? Ran { get; init; }
    public required string AgentVersion { get; init; }
    public required DateTimeOffset CompletedUtc { get; init; }
}

/// <summary>Aggregate metrics only: nothing that identifies a record.</summary>
public sealed record UpdateMetrics
{
    public double? TrainLoss { get; init; }
    public int StepsDone { get; init; }
    /// <summary>Mean negative log-likelihood per token on the hospital's held-out split.</summary>
    public double? HeldOutNll { get; init; }
    public long HeldOutTokens { get; init; }
    public long HeldOutExamples { get; init; }
    /// <summary>With record-level DP (train.differential_privacy): the ε this hospital has spent on its own records over the run so far (δ from the recipe).</summary>
    public double? RecordEpsilon { get; init; }
}

public sealed record UpdateTimings
{
    public double DownloadSeconds { get; init; }
    public double TrainSeconds { get; init; }
    public double EvalSeconds { get; init; }
    public double UploadSeconds { get; init; }
    /// <summary>Seconds from the moment the agent saw the task to the moment its adapter upload completed.</summary>
    public double BusySeconds { get; init; }
    /// <summary>Seconds spent loading (and quantizing) the base model this round; 0 when the agent reused the model it kept from an earlier round of the run.</summary>
    public double ModelLoadSeconds { get; init; }
}

/// <summary>
/// What a hospital's trainer actually ran in a round, each value read from the running model and trainer:
/// the report's recipe table is built from these, so a recipe key the agent ignored shows as not applied.
/// </summary>
public sealed record TrainingAsRun
{
    /// <summary>How the base Linear weights were held: None, Int8 or Nf4.</summary>
    public BaseQuantization Quantization { get; init; }
    /// <summary>Bytes the frozen base model occupied in memory (quantized codes and scales counted as stored).</summary>
    public long BaseModelBytes { get; init; }
    /// <summary>
    /// Times the agent process loaded the base model for this run, up to and including this round: stays 1 over the rounds
    /// while it keeps the model loaded (ModelCache), equals the rounds it trained when it reloads every round.
    /// </summary>
    public int BaseModelLoads { get; init; }
    public bool GradientCheckpointing { get; init; }
    /// <summary>Transformer-block forwards that ran through the checkpoint function (0 when checkpointing was off).</summary>
    public long CheckpointedBlockPasses { get; init; }
    /// <summary>
    /// Frozen base projection outputs (query_key_value, dense, dense_h_to_4h, dense_4h_to_h) that the checkpointed blocks
    /// kept from their forward and reused in backward instead of recomputing the matmuls: 4 per block pass with selective
    /// checkpointing, 0 when checkpointing was off.
    /// </summary>
    public long ReusedProjectionOutputs { get; init; }
    public PaddingSide PaddingSide { get; init; }
    public int SeqLength { get; init; }
    public int BatchSize { get; init; }
    public int GradientAccumulationSteps { get; init; }
    /// <summary>Optimizer steps this round (resolved from max_steps or num_train_epochs).</summary>
    public int Steps { get; init; }
    /// <summary>The rate the round started from and the schedule it followed within the round.</summary>
    public double LearningRate { get; init; }
    public LrSchedulerType LrSchedulerType { get; init; }
    public int LoraRank { get; init; }
    public double LoraAlpha { get; init; }
    public double LoraDropout { get; init; }
    public bool FreezeA { get; init; }
    public double ProximalMu { get; init; }
    /// <summary>train.differential_privacy as the trainer applied it (clip norm, noise multiplier, δ); null: no record-level DP.</summary>
    public RecordPrivacyConfig? RecordPrivacy { get; init; }
    public int LoggingSteps { get; init; }
    public int SaveSteps { get; init; }
    public int? SaveTotalLimit { get; init; }
    /// <summary>train.eval_every_rounds as applied, and the held-out records scored this round (0: not an evaluation round).</summary>
    public int EvalEveryRounds { get; init; } = 1;
    public int EvalExamples { get; init; }
    /// <summary>Real (non-padding) tokens the training micro-batches held this round.</summary>
    public long TrainTokens { get; init; }
    /// <summary>The agent process's peak resident memory (bytes) when the round finished training.</summary>
    public long PeakMemoryBytes { get; init; }
    /// <summary>cpu or cuda.</summary>
    public string Device { get; init; } = "cpu";
}

/// <summary>Written by an agent that cannot do a task, to <see cref="BlobLayout.FailedTaskMarker"/>.</summary>
public sealed record FailedTaskMarker
{
    public const int CurrentSchemaVersion = 1;

    public int SchemaVersion { get; init; } = CurrentSchemaVersion;
    public required string RunId { get; init; }
    public required int Round { get; init; }
    public int Attempt { get; init; }
    public required string HospitalId { get; init; }
    /// <summary>One of <see cref="FailureReasons"/> (or another short snake_case code).</summary>
    public required string ReasonCode { get; init; }
    public required string Message { get; init; }
    public required string AgentVersion { get; init; }
    public required DateTimeOffset WrittenUtc { get; init; }
}

/// <summary>Reason codes shared by agents (failed-task markers) and the aggregation (rejected updates).</summary>
public static class FailureReasons
{
    public const string DataMissing = "data_missing";
    public const string DataMalformed = "data_malformed";
    public const string EmptySplit = "empty_split";
    public const string RecordTooLong = "record_too_long";
    public const string ModelMismatch = "model_mismatch";
    public const string GlobalAdapterHashMismatch = "global_adapter_hash_mismatch";
    public const string DeadlinePassed = "deadline_passed";
    public const string TrainingError = "training_error";
    public const string UpdateHashMismatch = "update_hash_mismatch";
    public const string UpdateUnreadable = "update_unreadable";
    public const string UpdateInvalid = "update_invalid";
    public const string ManifestInvalid = "manifest_invalid";
}
