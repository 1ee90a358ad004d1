using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FedTune.Training.Data;
using Microsoft.ML.Tokenizers;

namespace FedTune.ClientAgent.Engine;

/// <summary>
/// Reads a model folder's Hugging Face <c>tokenizer.json</c> (byte-level BPE: GPT-NeoX/Pythia, GPT-2) into a
/// Microsoft.ML.Tokenizers byte-level BPE (GPT-2's byte alphabet, the file's merge ranks, GPT-2's pre-tokenizer split).
/// EOS is config.json's <c>eos_token_id</c>, else the <c>&lt;|endoftext|&gt;</c> token; padding uses
/// <c>pad_token_id</c> or EOS (Pythia has no pad token).
/// </summary>
public static partial class TokenizerJsonLoader
{
    public const string FileName = "tokenizer.json";

    public static ITextTokenizer Load(string modelFolder)
    {
        ArgumentNullException.ThrowIfNull(modelFolder);
        var file = Path.Combine(modelFolder, FileName);
        if (!File.Exists(file))
        {
            throw new FileNotFoundException($"The model folder has no {FileName}. Fix: copy the model's tokenizer.json next to config.json.", file);
        }

        JsonObject root = JsonNode.Parse(File.ReadAllBytes(file)) as JsonObject
                          ?? throw new InvalidDataException($"{file} is not a JSON object.");
        var model = root["model"] as JsonObject ?? throw new InvalidDataException($"{file} has no \"model\" object.");
        if ((string?)model["type"] != "BPE")
        {
            throw new InvalidDataException($"{file}: model type '{(string?)model["type"]}' is not supported; only byte-level BPE (GPT-NeoX, GPT-2) is.");
        }

        if (!IsByteLevel(root["pre_tokenizer"]))
        {
            throw new InvalidDataException($"{file}: the pre-tokenizer is not ByteLevel; only byte-level BPE tokenizers (GPT-NeoX, GPT-2) are supported.");
        }

        var vocab = model["vocab"] as JsonObject ?? throw new InvalidDataException($"{file}: model.vocab is missing.");
        var merges = new List<string>();
        foreach (var merge in model["merges"] as JsonArray ?? [])
        {
            merges.Add(merge switch
            {
                JsonArray pair when pair.Count == 2 => $"{(string?)pair[0]} {(string?)pair[1]}",
                JsonValue text => (string?)text ?? "",
                _ => throw new InvalidDataException($"{file}: a merge is neither \"a b\" nor [\"a\", \"b\"]."),
            });
        }

        var special = (root["added_tokens"] as JsonArray)?.OfType<JsonObject>()
            .Where(t => t["special"]?.GetValue<bool>() == true)
            .ToDictionary(t => (string)t["content"]!, t => t["id"]!.GetValue<int>(), StringComparer.Ordinal);
        var tokenizer = BpeTokenizer.Create(new BpeOptions(vocab.Select(p => new KeyValuePair<string, int>(p.Key, p.Value!.GetValue<int>())))
        {
            Merges = merges,
            ByteLevel = true,
            PreTokenizer = new RegexPreTokenizer(Gpt2Split(), special),
            SpecialTokens = special,
        });

        int? eos = ConfigId(modelFolder, "eos_token_id");
        if (eos is null && vocab["<|endoftext|>"] is JsonValue endOfText) eos = endOfText.GetValue<int>();
        eos ??= AddedTokenId(root, "<|endoftext|>");
        if (eos is null)
        {
            throw new InvalidDataException($"{file}: no end-of-sequence token (config.json eos_token_id or <|endoftext|>).");
        }

        int pad = ConfigId(modelFolder, "pad_token_id") ?? eos.Value;
        return new ByteLevelBpe(tokenizer, eos.Value, pad);
    }

    private static bool IsByteLevel(JsonNode? preTokenizer) => FindByteLevel(preTokenizer) is not null;

    private static JsonObject? FindByteLevel(JsonNode? node) => node switch
    {
        JsonObject o when (string?)o["type"] == "ByteLevel" => o,
        JsonObject o when (string?)o["type"] == "Sequence" && o["pretokenizers"] is JsonArray list =>
            list.Select(FindByteLevel).FirstOrDefault(found => found is not null),
        _ => null,
    };

    private static int? AddedTokenId(JsonObject root, string content) =>
        (root["added_tokens"] as JsonArray)?.OfType<JsonObject>().Where(t => (string?)t["content"] == content)
        .Select(t => (int?)t["id"]!.GetValue<int>()).FirstOrDefault();

    private static int? ConfigId(string folder, string key)
    {
        var config = Path.Combine(folder, "config.json");
        if (!File.Exists(config)) return null;
        try
        {
            return JsonNode.Parse(File.ReadAllBytes(config))?[key] is JsonValue value && value.TryGetValue<int>(out var id) ? id : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>GPT-2's (and GPT-NeoX's) pre-tokenization split.</summary>
    [System.Text.RegularExpressions.GeneratedRegex(@"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+")]
    private static partial System.Text.RegularExpressions.Regex Gpt2Split();

    private sealed class ByteLevelBpe(BpeTokenizer tokenizer, int eos, int pad) : ITextTokenizer
    {
        public int EosTokenId => eos;

        public int PadTokenId => pad;

        public IReadOnlyList<int> Encode(string text) => tokenizer.EncodeToIds(text, considerPreTokenization: true, considerNormalization: true);

        public string Decode(IEnumerable<int> ids) => tokenizer.Decode(ids) ?? "";
    }
}
