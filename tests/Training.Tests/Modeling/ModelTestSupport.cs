using FedTune.Core.Formats;
using FedTune.Training.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace FedTune.Training.Tests.Modeling;

/// <summary>Tiny configurations, temporary folders and tensor comparisons shared by the model tests.</summary>
internal static class ModelTestSupport
{
    public static GptNeoXConfig TinyConfig(double rotaryPct = 0.25, bool parallel = true) => new()
    {
        VocabSize = 53,
        HiddenSize = 32,
        NumAttentionHeads = 4,
        NumHiddenLayers = 2,
        IntermediateSize = 64,
        RotaryPct = rotaryPct,
        MaxPositionEmbeddings = 64,
        UseParallelResidual = parallel,
        InitializerRange = 0.2,
    };

    public static GptNeoXForCausalLM TinyModel(long seed = 1, double rotaryPct = 0.25, bool parallel = true)
    {
        var model = new GptNeoXForCausalLM(TinyConfig(rotaryPct, parallel));
        model.InitializeRandom(seed);
        return model;
    }

    public static string FixtureFolder(string name) =>
        Path.Combine(AppContext.BaseDirectory, "Fixtures", "gpt-neox", name);

    public static string NewTempFolder()
    {
        var path = Path.Combine(Path.GetTempPath(), "fedtune-model-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        return path;
    }

    public static long[] ReadInt64(SafetensorsReader reader, string name)
    {
        var bytes = reader.ReadBytes(name);
        var values = new long[bytes.Length / 8];
        Buffer.BlockCopy(bytes, 0, values, 0, bytes.Length);
        return values;
    }

    /// <summary>Largest |a-b| / (1 + |b|) over all elements.</summary>
    public static double MaxRelativeError(Tensor actual, Tensor expected)
    {
        using var scope = torch.NewDisposeScope();
        var a = actual.to(ScalarType.Float64);
        var b = expected.to(ScalarType.Float64);
        return ((a - b).abs() / (b.abs() + 1)).max().item<double>();
    }

    public static Tensor RandomIds(long batch, long time, long vocab, long seed)
    {
        var generator = new Generator((ulong)seed);
        return torch.randint(0, vocab, [batch, time], generator: generator, dtype: ScalarType.Int64);
    }
}
