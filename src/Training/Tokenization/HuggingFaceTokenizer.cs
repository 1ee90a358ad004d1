using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using FedTune.Training.Data;
using Microsoft.ML.Tokenizers;

namespace FedTune.Training.Tokenization;

/// <summary>
/// A byte-level BPE tokenizer (GPT-2 / GPT-NeoX family) read from a Hugging Face <c>tokenizer.json</c>: the model's vocab
/// and merges, its added tokens (e.g. <c>&lt;|endoftext|&gt;</c>, <c>&lt;|padding|&gt;</c>) matched before BPE, the GPT-2
/// split regex, byte-level decoding and the NFC normalizer when declared. Built on Microsoft.ML.Tokenizers' CodeGenTokenizer.
/// </summary>
public sealed class HuggingFaceTokenizer : ITextTokenizer
{
    public const string FileName = "tokenizer.json";
    public const string EndOfText = "<|endoftext|>";

    /// <summary>GPT-2's pre-tokenization regex (the ByteLevel pre-tokenizer with use_regex: true).</summary>
    private const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    private readonly Dictionary<int, string> _addedById;

    private readonly bool _addPrefixSpace;

    private HuggingFaceTokenizer(string json, Tokenizer inner, IReadOnlyDictionary<string, int> added, int vocabularySize, bool addPrefixSpace)
    {
        _addPrefixSpace = addPrefixSpace;
        Json = json;
        Inner = inner;
        AddedTokens = added;
        _addedById = added.ToDictionary(p => p.Value, p => p.Key);
        VocabularySize = vocabularySize;
        EndOfTextId = added.TryGetValue(EndOfText, out var eos) ? eos : null;
        PaddingId = added.TryGetValue("<|padding|>", out var pad) ? pad : EndOfTextId;
    }

    /// <summary>The tokenizer.json text (written next to saved models).</summary>
    public string Json { get; }

    /// <summary>The Microsoft.ML.Tokenizers tokenizer doing the work.</summary>
    public Tokenizer Inner { get; }

    /// <summary>Added tokens by content.</summary>
    public IReadOnlyDictionary<string, int> AddedTokens { get; }

    /// <summary>Highest id + 1 over vocab and added tokens.</summary>
    public int VocabularySize { get; }

    /// <summary>Id of &lt;|endoftext|&gt;, or null when the tokenizer has none.</summary>
    public int? EndOfTextId { get; }

    /// <summary>Id of &lt;|padding|&gt; if present, else &lt;|endoftext|&gt;.</summary>
    public int? PaddingId { get; }

    /// <summary>Reads <c>tokenizer.json</c> from a model folder or a file path.</summary>
    public static HuggingFaceTokenizer Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var file = Directory.Exists(path) ? Path.Combine(path, FileName) : path;
        if (!File.Exists(file))
            throw new FileNotFoundException(
                $"No tokenizer.json at '{file}'. Copy the model's tokenizer.json next to config.json (transformers writes it with save_pretrained), or pass pre-tokenized input_ids.", file);
        try
        {
            return FromJson(File.ReadAllText(file));
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{file}: {e.Message}", e);
        }
    }

    /// <summary>Parses the text of a tokenizer.json.</summary>
    public static HuggingFaceTokenizer FromJson(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonObject root;
        try
        {
            root = JsonNode.Parse(json) as JsonObject ?? throw new InvalidDataException("tokenizer.json is not a JSON object.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"tokenizer.json is not valid JSON: {e.Message}", e);
        }

        var model = root["model"] as JsonObject ?? throw new InvalidDataException("tokenizer.json has no \"model\" object.");
        var type = model["type"]?.GetValue<string>();
        if (type is not null && type != "BPE")
            throw new InvalidDataException($"tokenizer.json model type is '{type}'; only byte-level BPE (GPT-2 / GPT-NeoX) tokenizers are supported.");
        if (!DeclaresByteLevel(root["pre_tokenizer"]))
            throw new InvalidDataException("tokenizer.json has no ByteLevel pre_tokenizer; only byte-level BPE (GPT-2 / GPT-NeoX) tokenizers are supported.");
        var vocab = model["vocab"] as JsonObject ?? throw new InvalidDataException("tokenizer.json model has no \"vocab\" object.");
        var merges = model["merges"] as JsonArray ?? throw new InvalidDataException("tokenizer.json model has no \"merges\" list.");

        var added = new Dictionary<string, int>(StringComparer.Ordinal);
        if (root["added_tokens"] is JsonArray addedTokens)
        {
            foreach (var token in addedTokens.OfType<JsonObject>())
            {
                var content = token["content"]?.GetValue<string>();
                var id = token["id"]?.GetValue<int>();
                if (content is null || id is null)
                    throw new InvalidDataException("tokenizer.json added_tokens entries need \"content\" and \"id\".");
                added[content] = id.Value;
            }
        }

        bool addPrefixSpace = FindByteLevel(root["pre_tokenizer"])?["add_prefix_space"]?.GetValue<bool>() ?? false;
        var normalizer = root["normalizer"] is JsonObject n && n["type"]?.GetValue<string>() == "NFC" ? new NfcNormalizer() : null;

        // Added tokens are split out before BPE; longest first, as HF's leftmost-longest matcher does for overlapping
        // ones such as GPT-NeoX's runs of spaces.
        var longestFirst = added.OrderByDescending(p => p.Key.Length).ThenBy(p => p.Key, StringComparer.Ordinal)
            .ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        var preTokenizer = new RegexPreTokenizer(new Regex(Gpt2Pattern, RegexOptions.Compiled | RegexOptions.CultureInvariant), longestFirst.Count > 0 ? longestFirst : null);
        var options = new BpeOptions(vocab.Select(p => new KeyValuePair<string, int>(p.Key, p.Value!.GetValue<int>())))
        {
            Merges = MergeLines(merges),
            ByteLevel = true,
            PreTokenizer = preTokenizer,
            Normalizer = normalizer,
            SpecialTokens = longestFirst.Count > 0 ? longestFirst : null,
        };
        var inner = BpeTokenizer.Create(options);
        int size = Math.Max(vocab.Select(p => p.Value!.GetValue<int>()).DefaultIfEmpty(-1).Max(), added.Values.DefaultIfEmpty(-1).Max()) + 1;
        return new HuggingFaceTokenizer(json, inner, added, size, addPrefixSpace);
    }

    /// <summary>Token ids of <paramref name="text"/> (added tokens such as &lt;|endoftext|&gt; in the text become their ids).</summary>
    public IReadOnlyList<int> Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (_addPrefixSpace && text.Length > 0 && !char.IsWhiteSpace(text[0]))
            text = " " + text;
        return Inner.EncodeToIds(text);
    }

    /// <summary>Text of <paramref name="ids"/>; with <paramref name="skipAddedTokens"/> the added/special tokens are dropped.</summary>
    public string Decode(IEnumerable<int> ids, bool skipAddedTokens = false)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var list = skipAddedTokens ? ids.Where(id => !_addedById.ContainsKey(id)).ToList() : ids.ToList();
        return Inner.Decode(list);
    }

    string ITextTokenizer.Decode(IEnumerable<int> ids) => Decode(ids);

    int ITextTokenizer.EosTokenId =>
        EndOfTextId ?? throw new InvalidOperationException("This tokenizer has no <|endoftext|> token to end responses with.");

    int ITextTokenizer.PadTokenId =>
        PaddingId ?? throw new InvalidOperationException("This tokenizer has neither <|padding|> nor <|endoftext|> to pad with.");

    private static List<string> MergeLines(JsonArray merges) =>
        merges.Select(merge => merge switch
        {
            JsonValue value => value.GetValue<string>(),
            JsonArray pair when pair.Count == 2 => $"{pair[0]!.GetValue<string>()} {pair[1]!.GetValue<string>()}",
            _ => throw new InvalidDataException("tokenizer.json merges must be \"a b\" strings or [a, b] pairs."),
        }).ToList();

    private static bool DeclaresByteLevel(JsonNode? preTokenizer) => FindByteLevel(preTokenizer) is not null;

    private static JsonObject? FindByteLevel(JsonNode? node)
    {
        if (node is not JsonObject obj) return null;
        var type = obj["type"]?.GetValue<string>();
        if (type == "ByteLevel") return obj;
        if (type == "Sequence" && obj["pretokenizers"] is JsonArray items)
            return items.Select(FindByteLevel).FirstOrDefault(x => x is not null);
        return null;
    }
}
