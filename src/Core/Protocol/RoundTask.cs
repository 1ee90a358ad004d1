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
    /// <summary>The base model the adapter belongs to (as named in the run's configuration).</summary>
    public required string BaseModel { get; init; }
    /// <summary>The global adapter to start from and its SHA-256 (round 1: the run's round-0 adapter).</summary>
    public required ContentRef GlobalAdapter { get; init; }
    public required TrainingHyperparameters Hyperparameters { get; init; }
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
}

/// <summary>Local training settings for one round. The learning rate already follows the run's cosine schedule.</summary>
public sealed record TrainingHyperparameters
{
    public required double LearningRate { get; init; }
    /// <summary>Optimizer steps this round; -1 means train for <see cref="NumTrainEpochs"/> epochs instead.</summary>
    public required int MaxSteps { get; init; }
    public double NumTrainEpochs { get; init; } = 1;
    public int BatchSize { get; init; } = 1;
    public int GradientAccumulationSteps { get; init; } = 1;
    public int MaxSequenceLength { get; init; } = 512;
    public double WeightDecay { get; init; }
    public double MaxGradNorm { get; init; } = 1.0;
    public int LoraRank { get; init; } = 8;
    public double LoraAlpha { get; init; } = 16;
    public double LoraDropout { get; init; }
    public IReadOnlyList<string> TargetModules { get; init; } = [];
    /// <summary>FedProx proximal term weight (0 = plain local SGD).</summary>
    public double ProximalMu { get; init; }
    /// <summary>FFA-LoRA: every lora_A stays at the global adapter's values (frozen, not trained); only lora_B trains.</summary>
    public bool FreezeA { get; init; }
}
