using FedTune.TestSupport;
using FedTune.Training.Modeling;

namespace FedTune.Cli.Tests.Simulation;

/// <summary>
/// A tiny randomly initialised GPT-NeoX with a byte-level tokenizer.json (see <see cref="ByteLevelNeoXModel"/>), saved
/// in Hugging Face layout: small enough that a whole federation trains in seconds per round on a busy CPU.
/// </summary>
internal static class TinyByteModel
{
    public const string Name = "tiny-byte-neox";

    public static GptNeoXConfig Config { get; } = new()
    {
        // Ids 0-255 are bytes, 256 is <|endoftext|>.
        VocabSize = 257,
        HiddenSize = 64,
        NumHiddenLayers = 2,
        NumAttentionHeads = 4,
        IntermediateSize = 128,
        MaxPositionEmbeddings = 512,
        RotaryPct = 0.25,
        BosTokenId = ByteLevelNeoXModel.EndOfTextId,
        EosTokenId = ByteLevelNeoXModel.EndOfTextId,
    };

    /// <summary>Writes the model into <paramref name="parent"/>/<see cref="Name"/> and returns that folder.</summary>
    public static string Create(string parent)
    {
        var folder = Path.Combine(parent, Name);
        ByteLevelNeoXModel.Save(Config, folder);
        return folder;
    }
}
