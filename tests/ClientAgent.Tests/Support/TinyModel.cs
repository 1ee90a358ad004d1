using System.Text;
using System.Text.Json;
using FedTune.Core.Adapters;
using FedTune.Training.Lora;
using FedTune.Training.Modeling;

namespace FedTune.ClientAgent.Tests.Support;

/// <summary>
/// A tiny randomly initialised GPT-NeoX saved in Hugging Face layout (config.json, model.safetensors, tokenizer.json
/// with GPT-2's byte-level alphabet and no merges), created once per test run: fast enough to train in tests.
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
        BosTokenId = 256,
        EosTokenId = 256,
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
                Directory.CreateDirectory(folder);
                using (var model = new GptNeoXForCausalLM(Config))
                {
                    model.InitializeRandom(1234);
                    HuggingFaceModelWriter.Save(model, folder, ByteLevelTokenizerJson());
                }

                _folder = folder;
                return folder;
            }
        }
    }

    /// <summary>A LoRA adapter for the tiny model (the initial global adapter of a run), in wire bytes.</summary>
    public static byte[] InitialAdapterWireBytes(int rank = 4, long seed = 99)
    {
        using var model = HuggingFaceModelLoader.Load(Folder);
        var config = new LoraAdapterConfig { R = rank, LoraAlpha = 2 * rank, BaseModelNameOrPath = Name };
        LoraInjector.Apply(model, config, seed);
        return AdapterWireFormat.ToBytes(LoraAdapterExchange.Export(model, config));
    }

    /// <summary>GPT-2's bytes_to_unicode alphabet as a byte-level BPE tokenizer.json without merges, plus &lt;|endoftext|&gt;.</summary>
    public static string ByteLevelTokenizerJson()
    {
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        var alphabet = BytesToUnicode();
        for (int b = 0; b < 256; b++) vocab[alphabet[b].ToString()] = b;
        vocab["<|endoftext|>"] = 256;
        var tokenizer = new Dictionary<string, object?>
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = new[]
            {
                new Dictionary<string, object> { ["id"] = 256, ["content"] = "<|endoftext|>", ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false, ["normalized"] = false, ["special"] = true },
            },
            ["normalizer"] = null,
            ["pre_tokenizer"] = new Dictionary<string, object> { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = true },
            ["post_processor"] = null,
            ["decoder"] = new Dictionary<string, object> { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = true },
            ["model"] = new Dictionary<string, object?>
            {
                ["type"] = "BPE",
                ["dropout"] = null,
                ["unk_token"] = null,
                ["continuing_subword_prefix"] = null,
                ["end_of_word_suffix"] = null,
                ["fuse_unk"] = false,
                ["byte_fallback"] = false,
                ["vocab"] = vocab,
                ["merges"] = Array.Empty<string>(),
            },
        };
        return JsonSerializer.Serialize(tokenizer);
    }

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
            if (!bs.Contains(b))
            {
                bs.Add(b);
                cs.Add(256 + n++);
            }
        }

        var map = new char[256];
        for (int i = 0; i < bs.Count; i++) map[bs[i]] = (char)cs[i];
        return map;
    }

    /// <summary>UTF-8 text → ids with the same byte-level alphabet (no merges): each byte is one token.</summary>
    public static int[] EncodeBytes(string text) => Encoding.UTF8.GetBytes(text).Select(b => (int)b).ToArray();
}
