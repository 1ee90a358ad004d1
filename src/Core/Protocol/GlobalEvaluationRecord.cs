namespace FedTune.Core.Protocol;

/// <summary>
/// The global model after one round (round 0: the base model alone) scored on a held-out evaluation split no hospital
/// trains on, written to <see cref="BlobLayout.GlobalEvaluation"/> by whoever scored it (<c>fedtune simulate</c> does
/// after every round). The orchestrator never evaluates (it has no model), so a run without an evaluator has none.
/// </summary>
public sealed record GlobalEvaluationRecord
{
    public const int CurrentSchemaVersion = 1;

    public int SchemaVersion { get; init; } = CurrentSchemaVersion;
    public required string RunId { get; init; }
    public required int Round { get; init; }
    /// <summary>Tokens scored.</summary>
    public required long Tokens { get; init; }
    /// <summary>Token-weighted mean negative log-likelihood (nats per token).</summary>
    public required double MeanNll { get; init; }
    /// <summary>exp(<see cref="MeanNll"/>).</summary>
    public required double Perplexity { get; init; }
    /// <summary>SHA-256 of the global adapter scored (null for round 0, the base model).</summary>
    public string? AdapterSha256 { get; init; }
    /// <summary>Who scored it, e.g. "fedtune simulate".</summary>
    public required string Evaluator { get; init; }
    public required DateTimeOffset ScoredUtc { get; init; }
}
