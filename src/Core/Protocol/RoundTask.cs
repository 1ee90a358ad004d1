using FedTune.Core.Configuration;

namespace FedTune.Core.Protocol;

/// <summary>
/// What the orchestrator asks one hospital to do in one round, written to
/// <see cref="BlobLayout.RoundTask"/>. The agent trains from <see cref="GlobalAdapter"/> (in round 1 the round-0
/// adapter the orchestrator created from the recipe; no round is special) and uploads into <see cref="UpdateFolder"/>.
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
    /// <summary>The global adapter to start from and its SHA-256 (round 1: the run's round-0 adapter).</summary>
    public required ContentRef GlobalAdapter { get; init; }
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
    /// <summary>The container the agent writes its update into (its own).</summary>
    public required string Container { get; init; }
    /// <summary>Folder (inside <see cref="Container"/>) for the adapter blob; the manifest goes to <see cref="ManifestBlob"/>.</summary>
    public required string UpdateFolder { get; init; }
    public required string ManifestBlob { get; init; }
    public required string FailedMarkerBlob { get; init; }
    /// <summary>Secure aggregation for this round (null: off, the agent uploads its adapter in clear).</summary>
    public SecureAggregationTask? SecureAggregation { get; init; }
}
