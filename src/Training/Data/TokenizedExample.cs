namespace FedTune.Training.Data;

/// <summary>
/// One training/evaluation sequence, unpadded. <see cref="Labels"/> has the same length as <see cref="InputIds"/>:
/// the token id where the position is predicted (the model learns to produce it from the positions before), or
/// <see cref="IgnoreIndex"/> where it is not scored (prompt tokens with completion-only loss). Labels are NOT shifted;
/// the loss shifts them like Hugging Face's causal-LM loss (logits at t predict the label at t+1).
/// </summary>
public sealed record TokenizedExample(int[] InputIds, int[] Labels)
{
    /// <summary>PyTorch's cross-entropy ignore index, as in Hugging Face.</summary>
    public const int IgnoreIndex = -100;

    /// <summary>Number of positions that contribute to the loss (labels after the first position that are not ignored).</summary>
    public int ScoredTokenCount
    {
        get
        {
            var count = 0;
            for (int i = 1; i < Labels.Length; i++)
            {
                if (Labels[i] != IgnoreIndex)
                {
                    count++;
                }
            }

            return count;
        }
    }

    /// <summary>An example scored on every token after the first (pre-tokenized evaluation data, full-sequence loss).</summary>
    public static TokenizedExample FullSequence(int[] inputIds)
    {
        ArgumentNullException.ThrowIfNull(inputIds);
        var labels = (int[])inputIds.Clone();
        if (labels.Length > 0) labels[0] = IgnoreIndex;
        return new TokenizedExample(inputIds, labels);
    }
}
