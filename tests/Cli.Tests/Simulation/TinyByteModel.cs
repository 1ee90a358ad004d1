using System.Text.Json;
using FedTune.Training.Modeling;

namespace FedTune.Cli.Tests.Simulation;

/// <summary>
/// A tiny randomly initialised GPT-NeoX with a byte-level tokenizer.json (GPT-2's byte alphabet, no merges), saved in
/// Hugging Face layout: small enough that a whole federation trains in seconds per round on a busy CPU.
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
        BosTokenId = 256,
        EosTokenId = 256,
    };

    /// <summary>Writes the model into <paramref name="parent"/>/<see cref="Name"/> and returns that folder.</summary>
    public static string Create(string parent)
    {
        var folder = Path.Combine(parent, Name);
        Directory.CreateDirectory(folder);
        using var model = new GptNeoXForCausalLM(Config);
        model.InitializeRandom(1234);
        HuggingFaceModelWriter.Save(model, folder, TokenizerJson());
        return folder;
    }

    private static string TokenizerJson()
    {
        var alphabet = BytesToUnicode();
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int b = 0; b < 256; b++) vocab[alphabet[b].ToString()] = b;
        vocab["<|endoftext|>"] = 256;
        var byteLevel = new Dictionary<string, object> { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = true };
        return JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = new[]
            {
                new Dictionary<string, object> { ["id"] = 256, ["content"] = "<|endoftext|>", ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false, ["normalized"] = false, ["special"] = true },
            },
            ["normalizer"] = null,
            ["pre_tokenizer"] = byteLevel,
            ["post_processor"] = null,
            ["decoder"] = byteLevel,
            ["model"] = new Dictionary<string, object?>
            {
                ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = null, ["continuing_subword_prefix"] = null, ["end_of_word_suffix"] = null,
                ["fuse_unk"] = false, ["byte_fallback"] = false, ["vocab"] = vocab, ["merges"] = Array.Empty<string>(),
            },
        });
    }

    /// <summary>GPT-2's bytes_to_unicode map.</summary>
    private static char[] BytesToUnicode()
    {
        var bs = new List<int>();
        for (int b = '!'; b <= '~'; b++) bs.Add(b);
        for (int b = 0xA1; b <= 0xAC; b++) bs.Add(b);
        for (int b = 0xAE; b <= 0xFF; b++) bs.Add(b);
        var cs = new List<int>(bs);
        int n = 0;
        for (int b = 0; b < 256; b++)
        {
            if (bs.Contains(b)) continue;
            bs.Add(b);
            cs.Add(256 + n++);
        }
        var map = new char[256];
        for (int i = 0; i < bs.Count; i++) map[bs[i]] = (char)cs[i];
        return map;
    }
}
