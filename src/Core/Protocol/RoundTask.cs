using FedTune.Core.Configuration;

namespace FedTune.Core.Protocol;

/// <summary>
/// What the orchestrator asks one hospital to do in one round, written to
/// <see cref="BlobLayout.RoundTask"/>. The agent trains from <see cref="GlobalAdapter"/> (or, when it is null,
/// from a fresh LoRA initialised with <see cref="Seed"/>) and uploads into <see cref="UpdateFolder"/>.
/// </summary>
public sealed record RoundTask
{
    public const int CurrentSchemaVersion = 1;

    public int SchemaVersion { get; init; } = CurrentSchemaVersion;
    public required string RunId { get; init; }
    public required int Round { get; init; }
    public required int TotalRounds { get; init; }
    /// <summary>0 for the first try of a round; higher when a round is retried after a quorum failure.</summary>
    public int Attempt { get; init; }
    public required string HospitalId { get; init; }
    /// <summary>The global adapter to start from and its SHA-256; null in a run's first round without an initial adapter.</summary>
    public ContentRef? GlobalAdapter { get; init; }
    /// <summary>How to train: the run's recipe, the same for every hospital and round (its base model is the adapter's).</summary>
    public required TrainingRecipe Recipe { get; init; }
    /// <summary>
    /// The rate this round starts from: <see cref="TrainingRecipe.LearningRateForRound"/> of the recipe (FlowerTune's
    /// cosine across rounds when learning_rate_min is set); within the round the recipe's lr_scheduler_type applies.
    /// </summary>
    public required double LearningRate { get; init; }
    /// <summary>Uploads after this instant are ignored: the hospital is a straggler for the round.</summary>
    public required DateTimeOffset DeadlineUtc { get; init; }
    public required DateTimeOffset IssuedUtc { get; init; }
    /// <summary>Seed for this hospital and round (data order, dropout), derived from the run seed.</summary>
    public required long Seed { get; init; }
    /// <summary>
    /// Seed of the fresh LoRA a run starts from when it has no initial adapter: the same for every hospital and round
    /// of the run and derived from the run's seed only, so two runs with one seed start from the same A matrices and
    /// reproduce each other.
    /// </summary>
    public required long LoraInitSeed { get; init; }
    /// <summary>The container the agent writes its update into (its own).</summary>
    public required string Container { get; init; }
    /// <summary>Folder (inside <see cref="Container"/>) for the adapter blob; the manifest goes to <see cref="ManifestBlob"/>.</summary>
    public required string UpdateFolder { get; init; }
    public required string ManifestBlob { get; init; }
    public required string FailedMarkerBlob { get; init; }
    /// <summary>Secure aggregation for this round (null: off, the agent uploads its adapter in clear).</summary>
    public SecureAggregationTask? SecureAggregation { get; init; }
}
