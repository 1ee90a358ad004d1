using System.Text.Json.Serialization;
using FedTune.Core.Configuration;
using FedTune.Core.Protocol;

namespace FedTune.Orchestration.Plans;

/// <summary>
/// Everything the orchestration needs to run a federation, fixed when the run starts (built from the
/// configuration's federation section by <see cref="FederationPlanBuilder"/>). Small and JSON-serializable:
/// it travels in the orchestration's input on every ContinueAsNew.
/// </summary>
public sealed record FederationPlan
{
    public required string RunId { get; init; }
    /// <summary>
    /// The base model's dimensions (from its config.json), which fix the LoRA shapes: the round-0 adapter is created from
    /// them and the recipe, and every upload is judged against them.
    /// </summary>
    public required Core.Adapters.BaseModelShape BaseModelShape { get; init; }
    public required int Rounds { get; init; }
    /// <summary>All hospitals of the federation (normalized ids, sorted).</summary>
    public required IReadOnlyList<string> Hospitals { get; init; }
    public double FractionFit { get; init; } = 1.0;
    public int MinFitClients { get; init; } = 1;
    public int MinAvailableClients { get; init; } = 1;
    /// <summary>How long hospitals have to upload after a round's tasks are written.</summary>
    public required TimeSpan RoundDeadline { get; init; }
    public QuorumFailurePolicy OnQuorumFailure { get; init; } = QuorumFailurePolicy.Fail;
    /// <summary>With <see cref="QuorumFailurePolicy.Retry"/>: how many extra attempts a round gets before the run fails.</summary>
    public int MaxRoundRetries { get; init; } = 2;
    public long Seed { get; init; }
    /// <summary>How every hospital trains, in every round (base model included); each task carries it unchanged.</summary>
    public required TrainingRecipe Recipe { get; init; }
    public required AggregationSettings Aggregation { get; init; }
    /// <summary>Secure aggregation settings; null when off (the default).</summary>
    public Core.Configuration.SecureAggregationConfig? SecureAggregation { get; init; }
    /// <summary>Keep the global adapter as a checkpoint every this many rounds (0: never).</summary>
    public int SaveEveryRound { get; init; }
    /// <summary>Keep at most this many checkpoints, deleting the oldest (0: keep all).</summary>
    public int SaveTotalLimit { get; init; }
    public MonitorSettings Monitor { get; init; } = new();
    /// <summary>Hospitals per task-write and upload-check activity (chunks run in parallel; see docs/orchestrator.md).</summary>
    public int BatchSize { get; init; } = DefaultBatchSize;
    public const int DefaultBatchSize = 250;
    /// <summary>Rounds per orchestration execution before ContinueAsNew trims the history.</summary>
    public int RoundsPerExecution { get; init; } = 1;
    /// <summary>Start from a checkpoint of an earlier run instead of a fresh LoRA.</summary>
    public CheckpointSource? StartFrom { get; init; }

    /// <summary>The PEFT LoRA config the recipe asks for (rank, alpha, dropout, target modules, base model).</summary>
    public Core.Adapters.LoraAdapterConfig LoraConfig() => Core.Adapters.LoraAdapterConfig.From(Recipe);
}

[JsonConverter(typeof(JsonStringEnumConverter<QuorumFailurePolicy>))]
public enum QuorumFailurePolicy
{
    /// <summary>Fail the run with a reason naming the round and the missing hospitals.</summary>
    Fail,
    /// <summary>Resample and run the round again (up to <see cref="FederationPlan.MaxRoundRetries"/> times).</summary>
    Retry,
}

/// <summary>
/// The round's safety-net poll: uploads are found through UploadArrived notices; this timer checks every hospital still
/// pending after <see cref="FirstPoll"/>, then backing off to <see cref="MaxPoll"/>, in case a notice was lost.
/// </summary>
public sealed record MonitorSettings
{
    public TimeSpan FirstPoll { get; init; } = TimeSpan.FromSeconds(30);
    public TimeSpan MaxPoll { get; init; } = TimeSpan.FromMinutes(5);
    public double BackoffFactor { get; init; } = 2.0;
}

/// <summary>A checkpoint to start from: a run id and a round (null: that run's latest checkpoint).</summary>
public sealed record CheckpointSource(string RunId, int? Round);

/// <summary>Server-side aggregation: strategy, its parameters, update validation and differential privacy.</summary>
public sealed record AggregationSettings
{
    /// <summary>fedavg, fedavgm, fedprox (FedAvg on the server), fedadam, fedyogi, fedadagrad.</summary>
    public string Strategy { get; init; } = "fedavg";
    /// <summary>Strategy parameters by name (e.g. server_learning_rate, server_momentum, beta_1, beta_2, tau).</summary>
    public IReadOnlyDictionary<string, double> Parameters { get; init; } = new Dictionary<string, double>();
    /// <summary>
    /// Reject an update whose distance from the global adapter exceeds this many times the round's median distance
    /// (null or 0: no norm check; applied only when at least 3 updates arrived, so a median means something).
    /// </summary>
    public double? MaxNormRatio { get; init; }
    public DifferentialPrivacySettings? DifferentialPrivacy { get; init; }
    /// <summary>lora_A is frozen and shared (FFA-LoRA): only lora_B is averaged, and a changed lora_A is rejected.</summary>
    public bool FreezeA { get; init; }
    /// <summary>How declared example counts become bounded weights: budget, capped or uniform (resolved when the plan is built).</summary>
    public Core.Aggregation.WeightingKind Weighting { get; init; } = Core.Aggregation.WeightingKind.Budget;
    /// <summary>With capped weighting: at most this multiple of the round's median declared count.</summary>
    public double WeightingCap { get; init; } = 2;
}

/// <summary>Central DP-FedAvg: clip each update to <see cref="ClippingNorm"/> and add Gaussian noise.</summary>
public sealed record DifferentialPrivacySettings
{
    public required double NoiseMultiplier { get; init; }
    public required double ClippingNorm { get; init; }
    public double Delta { get; init; } = 1e-5;
}
