using FedTune.Training.Modeling;

namespace FedTune.Training.Benchmarks;

/// <summary>A named GPT-NeoX shape for the training benchmark (random weights written by our code: speed, not quality).</summary>
/// <param name="Source">Where the shape came from (a config.json path, or "built-in").</param>
public sealed record BenchmarkModelShape(string Name, GptNeoXConfig Config, string Source = "built-in")
{
    /// <summary>Where the mission's model config lives, relative to the repository root.</summary>
    public const string SharedPythiaConfig = "../shared/models/pythia-70m/config.json";

    /// <summary>
    /// EleutherAI/pythia-70m's architecture (6 layers, hidden 512, 8 heads, vocabulary 50,304), read from
    /// <see cref="SharedPythiaConfig"/> when it is found above the working or base directory, else the same values built in.
    /// </summary>
    public static BenchmarkModelShape Pythia70m { get; } = FromSharedConfig() ?? new("pythia-70m-shape", new GptNeoXConfig
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

    private static BenchmarkModelShape? FromSharedConfig()
    {
        foreach (var origin in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var directory = new DirectoryInfo(origin); directory is not null; directory = directory.Parent)
            {
                var candidate = Path.GetFullPath(Path.Combine(directory.FullName, SharedPythiaConfig));
                if (File.Exists(candidate))
                {
                    return new BenchmarkModelShape("pythia-70m-shape", GptNeoXConfig.Load(candidate), candidate);
                }
            }
        }

        return null;
    }
}
