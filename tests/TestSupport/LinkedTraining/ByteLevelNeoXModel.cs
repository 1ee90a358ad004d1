using System.Text;
using System.Text.Json;
using FedTune.Training.Modeling;

// Compiled into the test assemblies that reference FedTune.Training (their csproj links tests/TestSupport/LinkedTraining),
// so that TestSupport itself, which Core.Tests uses, stays free of TorchSharp.
namespace FedTune.TestSupport;

/// <summary>
/// Tiny randomly initialised GPT-NeoX models saved in Hugging Face layout with a byte-level tokenizer.json: GPT-2's
/// bytes_to_unicode alphabet and no merges, so ids 0-255 are the UTF-8 bytes and <see cref="EndOfTextId"/> is
/// &lt;|endoftext|&gt;. Small enough to train in tests.
/// </summary>
internal static class ByteLevelNeoXModel
{
    public const int EndOfTextId = 256;

    /// <summary>Writes config.json, model.safetensors and tokenizer.json of a model with <paramref name="config"/> into <paramref name="folder"/>.</summary>
    public static void Save(GptNeoXConfig config, string folder, long seed = 1234)
    {
        Directory.CreateDirectory(folder);
        using var model = new GptNeoXForCausalLM(config);
        model.InitializeRandom(seed);
        HuggingFaceModelWriter.Save(model, folder, TokenizerJson());
    }

    /// <summary>UTF-8 text → ids with the same byte-level alphabet (no merges): each byte is one token.</summary>
    public static int[] EncodeBytes(string text) => Encoding.UTF8.GetBytes(text).Select(b => (int)b).ToArray();

    /// <summary>GPT-2's byte alphabet as a byte-level BPE tokenizer.json without merges, plus &lt;|endoftext|&gt;.</summary>
    public static string TokenizerJson()
    {
        var alphabet = BytesToUnicode();
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int b = 0; b < 256; b++) vocab[alphabet[b].ToString()] = b;
        vocab["<|endoftext|>"] = EndOfTextId;
        var byteLevel = new Dictionary<string, object> { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = true };
        return JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = new[]
            {
                new Dictionary<string, object> { ["id"] = EndOfTextId, ["content"] = "<|endoftext|>", ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false, ["normalized"] = false, ["special"] = true },
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
