namespace FedTune.Training.Generation;

/// <summary>How <see cref="TextGenerator"/> picks tokens.</summary>
public sealed record GenerationOptions
{
    /// <summary>Tokens to generate at most per prompt.</summary>
    public int MaxNewTokens { get; init; } = 64;

    /// <summary>0 → greedy (argmax); otherwise logits are divided by it and a token is sampled.</summary>
    public double Temperature { get; init; }

    /// <summary>Keep only the k most likely tokens when sampling (0 = all).</summary>
    public int TopK { get; init; }

    /// <summary>Nucleus sampling: keep the smallest set of tokens whose probability reaches p (1 = all).</summary>
    public double TopP { get; init; } = 1.0;

    /// <summary>Seed of the sampling generator.</summary>
    public long Seed { get; init; }

    /// <summary>Stop a row when it emits this token (not included in the output); null = never stop early.</summary>
    public long? EosTokenId { get; init; }

    /// <summary>
    /// Hugging Face's <c>no_repeat_ngram_size</c>: a token that would repeat an n-gram already in the row (prompt and
    /// generated text) is never chosen; 0 allows repeats. Small models decode greedily into loops without it.
    /// </summary>
    public int NoRepeatNgramSize { get; init; }

    /// <summary>Token used to left-pad shorter prompts (masked out, so its value does not matter).</summary>
    public long PadTokenId { get; init; }

    /// <summary>Feed only the new token each step using the key/value cache (false recomputes the whole sequence).</summary>
    public bool UseCache { get; init; } = true;

    public GenerationOptions Validate()
    {
        if (MaxNewTokens < 0) throw new ArgumentOutOfRangeException(nameof(MaxNewTokens), MaxNewTokens, "max new tokens must not be negative.");
        if (Temperature < 0 || double.IsNaN(Temperature)) throw new ArgumentOutOfRangeException(nameof(Temperature), Temperature, "temperature must be 0 (greedy) or positive.");
        if (TopK < 0) throw new ArgumentOutOfRangeException(nameof(TopK), TopK, "top-k must be 0 (off) or positive.");
        if (NoRepeatNgramSize < 0) throw new ArgumentOutOfRangeException(nameof(NoRepeatNgramSize), NoRepeatNgramSize, "no-repeat n-gram size must be 0 (off) or positive.");
        if (TopP is <= 0 or > 1) throw new ArgumentOutOfRangeException(nameof(TopP), TopP, "top-p must lie in (0, 1].");
        return this;
    }
}
