using FedTune.Core.Adapters;
using FedTune.Core.Configuration;
using FedTune.TestSupport;
using FedTune.Training.Lora;
using FedTune.Training.Modeling;

namespace FedTune.ClientAgent.Tests.Support;

/// <summary>
/// A tiny randomly initialised GPT-NeoX saved in Hugging Face layout (config.json, model.safetensors and the byte-level
/// tokenizer.json of <see cref="ByteLevelNeoXModel"/>), created once per test run: fast enough to train in tests.
/// </summary>
public static class TinyModel
{
    public const string Name = "tiny-neox";
    private static readonly Lock Gate = new();
    private static string? _folder;

    public static GptNeoXConfig Config { get; } = new()
    {
        VocabSize = 260,
        HiddenSize = 32,
        NumHiddenLayers = 2,
        NumAttentionHeads = 4,
        IntermediateSize = 64,
        MaxPositionEmbeddings = 128,
        RotaryPct = 0.25,
        BosTokenId = ByteLevelNeoXModel.EndOfTextId,
        EosTokenId = ByteLevelNeoXModel.EndOfTextId,
    };

    /// <summary>The model folder (named <see cref="Name"/>), created on first use.</summary>
    public static string Folder
    {
        get
        {
            lock (Gate)
            {
                if (_folder != null) return _folder;
                var folder = Path.Combine(Path.GetTempPath(), $"fedtune-agent-tests-{Environment.ProcessId}", Name);
                ByteLevelNeoXModel.Save(Config, folder);
                _folder = folder;
                return folder;
            }
        }
    }

    /// <summary>The round-0 adapter the orchestrator creates for the tiny model (A seeded, B zeros), in wire bytes.</summary>
    /// <summary>The round-0 adapter of <paramref name="recipe"/>'s LoRA shape on the tiny model, as the orchestrator creates it.</summary>
    public static byte[] InitialAdapterWireBytes(TrainingRecipe recipe, long seed = 99) =>
        AdapterWireFormat.ToBytes(InitialAdapter.Create(BaseModelShape.FromFolder(Folder), LoraAdapterConfig.From(recipe), seed));

    public static byte[] InitialAdapterWireBytes(int rank = 4, long seed = 99, string? folder = null, string name = Name)
    {
        var config = new LoraAdapterConfig { R = rank, LoraAlpha = 2 * rank, BaseModelNameOrPath = name };
        return AdapterWireFormat.ToBytes(InitialAdapter.Create(BaseModelShape.FromFolder(folder ?? Folder), config, seed));
    }
}
