namespace FedTune.Training.BaseModel;

/// <summary>Shape and pretraining budget of the embedded default base model (<c>fedtune base create</c>).</summary>
public sealed record EmbeddedBaseModelOptions
{
    public int HiddenSize { get; init; } = 256;
    public int Layers { get; init; } = 4;
    public int Heads { get; init; } = 4;
    public int IntermediateSize { get; init; } = 1024;
    public double RotaryPct { get; init; } = 0.25;
    public int MaxPositionEmbeddings { get; init; } = 512;

    /// <summary>
    /// Tokens of the model's vocabulary: GPT-2's BPE cut to the pretraining texts' most frequent tokens
    /// (<see cref="Tokenization.PrunedBpeVocabulary"/>). The output layer over the vocabulary is most of a small model's
    /// compute; at 8,192 it costs a sixth of GPT-2's 50,257, while the medical texts take only about 3% more tokens (the
    /// general-medicine records contain fewer than 16,384 distinct GPT-2 tokens).
    /// </summary>
    public int VocabularySize { get; init; } = 8192;

    /// <summary>Tokens per training sequence (texts are packed, separated by &lt;|endoftext|&gt;).</summary>
    public int SequenceLength { get; init; } = 128;
    public int BatchSize { get; init; } = 8;
    public double LearningRate { get; init; } = 2e-3;
    public double WeightDecay { get; init; } = 0.01;

    /// <summary>
    /// Optimizer steps. A fixed count, not a time, so that the default model is the same on every machine for a seed
    /// (44-48 s on two idle cores at 120 steps); the run is reproducible when all of them finish within <see cref="TimeBudget"/>.
    /// </summary>
    public int MaxSteps { get; init; } = 120;

    /// <summary>
    /// Safety cap on pretraining for very slow machines; when hit, training stops early, the model is not the
    /// reproducible default, and the metadata and log say so.
    /// </summary>
    public TimeSpan TimeBudget { get; init; } = TimeSpan.FromMinutes(20);
    public long Seed { get; init; }

    public EmbeddedBaseModelOptions Validate()
    {
        if (HiddenSize <= 0 || Layers <= 0 || Heads <= 0 || IntermediateSize <= 0 || HiddenSize % Heads != 0)
            throw new ArgumentException("Embedded model: hidden size, layers, heads and intermediate size must be positive and hidden size divisible by heads.");
        if (VocabularySize < 512)
            throw new ArgumentException($"Embedded model: vocabulary size {VocabularySize} is below 512 (GPT-2's 256 bytes, <|endoftext|> and room for merges).");
        if (SequenceLength < 2 || SequenceLength > MaxPositionEmbeddings)
            throw new ArgumentException($"Embedded model: sequence length {SequenceLength} must lie in [2, {MaxPositionEmbeddings}].");
        if (BatchSize <= 0 || MaxSteps <= 0 || LearningRate <= 0 || WeightDecay < 0 || TimeBudget <= TimeSpan.Zero)
            throw new ArgumentException("Embedded model: batch size, steps, learning rate and time budget must be positive (weight decay non-negative).");
        return this;
    }
}
