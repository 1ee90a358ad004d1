using System.Text.Json.Serialization;
using FedTune.Core.Protocol;
using FedTune.Orchestration.Plans;

namespace FedTune.Orchestration.Orchestrators;

/// <summary>The federation orchestration's input, carried across ContinueAsNew: the plan and where the run stands.</summary>
public sealed record FederationState
{
    public required FederationPlan Plan { get; init; }
    /// <summary>The round to run next (0: not initialised yet; Rounds + 1: done).</summary>
    public int Round { get; init; }
    public int Attempt { get; init; }
    public ContentRef? GlobalAdapter { get; init; }
    public ContentRef? ServerState { get; init; }
    public double? Epsilon { get; init; }
    /// <summary>The DP accountant's ledger (small JSON) after the rounds so far; null without DP.</summary>
    public string? PrivacyLedger { get; init; }
    /// <summary>Small per-round summaries (metrics so far), for the status API.</summary>
    public IReadOnlyList<RoundSummary> History { get; init; } = [];
}

/// <summary>One finished round in a few numbers.</summary>
public sealed record RoundSummary(
    int Round, int Attempt, int Participants, int Stragglers, int Failed, int Rejected, long Examples,
    double? TrainLoss, double? HeldOutNll, double? Epsilon, string? GlobalSha256)
{
    /// <summary>Each rejected hospital with its reason code, e.g. "a-rogue (update_invalid)"; the messages are in the round record.</summary>
    public IReadOnlyList<string> RejectedHospitals { get; init; } = [];
}

/// <summary>The federation's output when it completes.</summary>
public sealed record FederationResult(string RunId, int RoundsCompleted, ContentRef? GlobalAdapter, double? Epsilon, IReadOnlyList<RoundSummary> History);

/// <summary>
/// One chunk of a round's task writes: the plan (without its hospital list, which the chunk names) and where the round
/// stands; the activity builds each <see cref="RoundTask"/> with <see cref="RoundTaskFactory"/>, so the history holds
/// a few hundred ids per chunk instead of every task.
/// </summary>
public sealed record RoundTaskBatch(FederationPlan Plan, int Round, int Attempt, ContentRef GlobalAdapter, DateTimeOffset IssuedUtc,
    IReadOnlyList<string> Hospitals)
{
    /// <summary>The round's secure-aggregation settings, the same in every task (null: plain aggregation).</summary>
    public SecureAggregationTask? SecureAggregation { get; init; }
}

/// <summary>One chunk of upload checks: the hospitals of a round whose manifest or failed-task marker to look for.</summary>
public sealed record UploadCheckBatch(string RunId, int Round, int Attempt, IReadOnlyList<string> Hospitals);

/// <summary>
/// The <see cref="TaskNames.UploadArrivedEvent"/> payload: these hospitals wrote a manifest or a failed-task marker for
/// this round and attempt (raised by the Event Grid trigger in Azure, by the local host's upload watcher, or by the
/// operator route). <see cref="Manifests"/> are those whose manifest was seen created: without secure aggregation the
/// round counts them as uploaded at once (the aggregation reads and judges every manifest anyway); the others are
/// checked (a failed-task marker's reason is read; a notice from the operator route says nothing of what was written).
/// </summary>
public sealed record UploadNotice(int Round, int Attempt, IReadOnlyList<string> Hospitals)
{
    public IReadOnlyList<string> Manifests { get; init; } = [];
}

[JsonConverter(typeof(JsonStringEnumConverter<HospitalRoundState>))]
public enum HospitalRoundState
{
    Pending,
    Uploaded,
    Failed,
    Straggler,
}

/// <summary>
/// How one hospital's round ended (or that it is still pending): its id and state, and for a failure the agent's reason
/// code and message. Nothing else, because a round's history holds one per hospital (the upload checks' results) and
/// the aggregation re-reads each manifest from its fixed place (<see cref="Core.Protocol.BlobLayout.UpdateManifest"/>)
/// anyway: an uploaded hospital costs about 50 bytes of history, so 10,000 of them fit in one round.
/// </summary>
public sealed record HospitalRoundOutcome
{
    public required string HospitalId { get; init; }
    public required HospitalRoundState State { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? ReasonCode { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Message { get; init; }
}

public sealed record UploadCheckRequest(string RunId, int Round, int Attempt, string HospitalId, string Container, string ManifestBlob, string FailedMarkerBlob);

/// <summary>Input of the aggregation activity.</summary>
public sealed record AggregateRequest
{
    public required string RunId { get; init; }
    public required int Round { get; init; }
    public int Attempt { get; init; }
    public required int TotalRounds { get; init; }
    public required long Seed { get; init; }
    public required int MinFitClients { get; init; }
    public required AggregationSettings Aggregation { get; init; }
    /// <summary>The base model's dimensions: every upload's tensors must have the shapes they and the recipe give.</summary>
    public required Core.Adapters.BaseModelShape BaseModelShape { get; init; }
    /// <summary>The recipe's LoRA settings (rank, alpha, target modules) every upload must carry.</summary>
    public required Core.Adapters.LoraAdapterConfig Lora { get; init; }
    /// <summary>The run's training recipe (bounds the examples a hospital could have consumed this round).</summary>
    public required Core.Configuration.TrainingRecipe Recipe { get; init; }
    /// <summary>The global adapter the round started from (round 1: the round-0 adapter).</summary>
    public required ContentRef GlobalAdapter { get; init; }
    public ContentRef? ServerState { get; init; }
    public required IReadOnlyList<string> Selected { get; init; }
    public required IReadOnlyList<HospitalRoundOutcome> Outcomes { get; init; }
    public required DateTimeOffset RoundStartedUtc { get; init; }
    /// <summary>All hospitals of the federation (the DP sampling rate is selected / total).</summary>
    public required int TotalHospitals { get; init; }
    /// <summary>The DP accountant's ledger before this round (null: first DP round or no DP).</summary>
    public string? PrivacyLedger { get; init; }
    /// <summary>Set when the round was drawn by Poisson sampling with this rate (DP with fraction_fit below 1).</summary>
    public double? PoissonRate { get; init; }
    /// <summary>The precision the new global adapter is written in (the download direction of the wire).</summary>
    public Core.Compression.WirePrecision WirePrecision { get; init; } = Core.Compression.WirePrecision.Fp32;
    /// <summary>The round's secure aggregation (null: off); with it the uploads are masked and only their sum is read.</summary>
    public SecureAggregationTask? SecureAggregation { get; init; }
    /// <summary>With secure aggregation: the hospitals whose encrypted shares were routed (they mask with each other).</summary>
    public IReadOnlyList<string>? SecAggSharers { get; init; }
}

/// <summary>Result of the aggregation: whether a new global adapter was produced, and the round record's place.</summary>
public sealed record AggregateResult
{
    public required bool Produced { get; init; }
    public ContentRef? GlobalAdapter { get; init; }
    public ContentRef? ServerState { get; init; }
    public required BlobRef RoundRecord { get; init; }
    public required RoundSummary Summary { get; init; }
    /// <summary>The DP accountant's ledger after this round.</summary>
    public string? PrivacyLedger { get; init; }
    /// <summary>Why no adapter was produced (too few valid updates).</summary>
    public string? Problem { get; init; }
}

public sealed record CheckpointRequest(string RunId, int Round, ContentRef GlobalAdapter, ContentRef? ServerState, int SaveTotalLimit, DateTimeOffset SavedUtc);

/// <summary>Input of the round-0 activity: the recipe's LoRA settings, the base model's shapes and the run's LoRA seed.</summary>
public sealed record InitialAdapterRequest(string RunId, Core.Adapters.BaseModelShape BaseModel, Core.Adapters.LoraAdapterConfig Lora, long Seed);

/// <summary>Import a checkpoint; it must fit the recipe's LoRA settings and the base model (checked before round 1).</summary>
public sealed record ImportCheckpointRequest(string RunId, CheckpointSource Source, Core.Adapters.BaseModelShape? BaseModel = null,
    Core.Adapters.LoraAdapterConfig? Lora = null);

public sealed record ImportedCheckpoint(ContentRef GlobalAdapter, ContentRef? ServerState, int SourceRound);
