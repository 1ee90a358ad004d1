using FedTune.Core.Configuration;

namespace FedTune.Training.Data;

/// <summary>
/// How records become token sequences. <see cref="SeqLength"/> bounds prompt + response + EOS.
/// <see cref="CompletionOnlyLoss"/> (default) puts the loss on the response tokens and EOS only; false puts it on
/// every token.
/// </summary>
public sealed record TokenizationOptions
{
    public int SeqLength { get; init; } = 512;

    public bool CompletionOnlyLoss { get; init; } = true;

    public bool AppendEos { get; init; } = true;

    /// <summary>
    /// When truncating, the response keeps at least this fraction of <see cref="SeqLength"/> (or all of itself if it
    /// is shorter), and the prompt gives up its leading tokens first.
    /// </summary>
    public double MinResponseFraction { get; init; } = 0.25;

    /// <summary>
    /// The recipe's <c>train.seq_length</c> (capped at the model's <paramref name="maxPositions"/>), completion-only
    /// loss and EOS (the defaults).
    /// </summary>
    public static TokenizationOptions For(TrainingRecipe recipe, long maxPositions = long.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(recipe);
        return new TokenizationOptions { SeqLength = (int)Math.Min(recipe.SeqLength, maxPositions) };
    }

    public void Validate()
    {
        if (SeqLength < 2)
        {
            throw new ArgumentException($"SeqLength is {SeqLength}: it must be at least 2 tokens.");
        }

        if (!(MinResponseFraction > 0 && MinResponseFraction <= 1))
        {
            throw new ArgumentException($"MinResponseFraction is {MinResponseFraction}: it must be in (0, 1].");
        }
    }
}
