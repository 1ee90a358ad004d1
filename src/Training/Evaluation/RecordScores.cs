namespace FedTune.Training.Evaluation;

/// <summary>
/// Per-record scores for evaluation and membership-inference audits, over the record's scored tokens (the response
/// tokens with completion-only labels; every token after the first for pre-tokenized data), in order:
/// <see cref="TokenLogProbs"/>[i] = log p(token_i | prefix); when requested, <see cref="ExpectedLogProbs"/>[i] =
/// E_z[log p(z | prefix)] and <see cref="LogProbVariances"/>[i] = Var_z[log p(z | prefix)] under the model's own
/// next-token distribution (what Min-K%++ standardises by).
/// </summary>
public sealed record RecordScores(
    int TokenCount,
    double SumNll,
    float[] TokenLogProbs,
    float[]? ExpectedLogProbs,
    float[]? LogProbVariances)
{
    /// <summary>Mean token NLL of the record (NaN when it has no scored token).</summary>
    public double MeanNll => TokenCount == 0 ? double.NaN : SumNll / TokenCount;
}
