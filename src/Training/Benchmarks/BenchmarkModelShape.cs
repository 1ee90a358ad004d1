using FedTune.Training.Modeling;

namespace FedTune.Training.Benchmarks;

/// <summary>A named GPT-NeoX shape for the training benchmark (random weights: speed, not quality).</summary>
public sealed record BenchmarkModelShape(string Name, GptNeoXConfig Config)
{
    /// <summary>EleutherAI/pythia-70m's architecture: 6 layers, hidden 512, 8 heads, vocabulary 50,304.</summary>
    public static BenchmarkModelShape Pythia70m { get; } = new("pythia-70m-shape", new GptNeoXConfig
    {
        VocabSize = 50304,
        HiddenSize = 512,
        NumHiddenLayers = 6,
        NumAttentionHeads = 8,
        IntermediateSize = 2048,
        RotaryPct = 0.25,
        MaxPositionEmbeddings = 2048,
        UseParallelResidual = true,
    });

    /// <summary>The embedded default base model's shape (EmbeddedBaseModelOptions defaults): GPT-2 vocabulary padded to 50,304 rows, 4 layers, hidden 256.</summary>
    public static BenchmarkModelShape EmbeddedSmall { get; } = new("embedded-small-shape", new GptNeoXConfig
    {
        VocabSize = 50304,
        HiddenSize = 256,
        NumHiddenLayers = 4,
        NumAttentionHeads = 4,
        IntermediateSize = 1024,
        RotaryPct = 0.25,
        MaxPositionEmbeddings = 512,
        UseParallelResidual = true,
    });
}
