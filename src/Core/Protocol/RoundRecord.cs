namespace FedTune.Core.Protocol;

/// <summary>What happened in one round, written by the aggregation to <see cref="BlobLayout.RoundRecord"/>.</summary>
public sealed record RoundRecord
{
    public const int CurrentSchemaVersion = 1;

    public int SchemaVersion { get; init; } = CurrentSchemaVersion;
    public required string RunId { get; init; }
    public required int Round { get; init; }
    public int Attempt { get; init; }
    public required string Strategy { get; init; }
    public required IReadOnlyList<string> Selected { get; init; }
    public required IReadOnlyList<RoundParticipant> Participants { get; init; }
    public required IReadOnlyList<string> Stragglers { get; init; }
    public required IReadOnlyList<RoundExclusion> Failed { get; init; }
    public required IReadOnlyList<RoundExclusion> Rejected { get; init; }
    public required long TotalExamples { get; init; }
    /// <summary>Example-weighted averages of the participants' metrics.</summary>
    public required RoundMetrics Metrics { get; init; }
    /// <summary>The new global adapter (null when the round did not produce one).</summary>
    public ContentRef? GlobalAdapter { get; init; }
    /// <summary>Server optimizer state after this round (FedAvgM momentum, FedAdam moments), when the strategy keeps one.</summary>
    public ContentRef? ServerState { get; init; }
    public long BytesRead { get; init; }
    public long BytesWritten { get; init; }
    public required DateTimeOffset RoundStartedUtc { get; init; }
    public required DateTimeOffset AggregatedUtc { get; init; }
    public double AggregationSeconds { get; init; }
    /// <summary>Cumulative (epsilon, delta) privacy spent after this round when the run uses DP.</summary>
    public double? DpEpsilon { get; init; }
    public double? DpDelta { get; init; }
    /// <summary>
    /// With record-level DP (train.differential_privacy): the largest ε any participant reports having spent on its own
    /// records so far (each at the recipe's δ); null when none reported one.
    /// </summary>
    public double? RecordEpsilon { get; init; }
    /// <summary>Relative Frobenius error of the averaged LoRA factors against the average of the B·A products.</summary>
    public double? LoraProductError { get; init; }
    /// <summary>L2 distance between this round's new global adapter and the one it started from (how far the global moved).</summary>
    public double? GlobalDeltaNorm { get; init; }
    /// <summary>What bounded each hospital's weight (e.g. "budget (declared examples, at most 40 …)").</summary>
    public string? Weighting { get; init; }
    /// <summary>How the round's hospitals were drawn (fixed-size sample, or Poisson as the DP accountant assumes).</summary>
    public string? Sampling { get; init; }
    /// <summary>Set when the round was securely aggregated: the orchestrator read only the masked uploads' sum.</summary>
    public SecureAggregationFacts? SecureAggregation { get; init; }
}

/// <summary>How a securely aggregated round went: threshold, who published keys, who shared, whose upload was summed, who dropped after sharing.</summary>
public sealed record SecureAggregationFacts(int Threshold, int Neighbours, IReadOnlyList<string> Roster, IReadOnlyList<string> Sharers,
    IReadOnlyList<string> Survivors, IReadOnlyList<string> Dropped);

/// <param name="Weight">The hospital's share of the round: its bounded weight over the sum (1 / divisor under DP).</param>
public sealed record RoundParticipant(string HospitalId, long ExampleCount, double Weight, UpdateMetrics Metrics, long AdapterBytes, string AdapterSha256)
{
    /// <summary>L2 norm of the update's delta from the global adapter it started from (before any clipping).</summary>
    public double? DeltaNorm { get; init; }
}

/// <summary>A hospital left out of a round, with a reason code and a message an operator can act on.</summary>
public sealed record RoundExclusion(string HospitalId, string ReasonCode, string Message);

public sealed record RoundMetrics
{
    public double? TrainLoss { get; init; }
    public double? HeldOutNll { get; init; }
    public double? HeldOutPerplexity { get; init; }
    public long HeldOutTokens { get; init; }
}

/// <summary>A kept global adapter, written to <see cref="BlobLayout.Checkpoint"/>; a new run can start from it.</summary>
public sealed record CheckpointRecord
{
    public required string RunId { get; init; }
    public required int Round { get; init; }
    public required ContentRef Adapter { get; init; }
    /// <summary>Server optimizer state (FedAvgM/FedAdam) at that round, when the strategy keeps one.</summary>
    public ContentRef? ServerState { get; init; }
    public required DateTimeOffset SavedUtc { get; init; }
}
