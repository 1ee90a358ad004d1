using System.Text.Json;
using System.Text.Json.Nodes;

namespace FedTune.Training.Tokenization;

/// <summary>
/// A byte-level BPE tokenizer cut to the tokens a corpus uses most. Every token no merge produces (GPT-2's 256 bytes)
/// and every added token stay, so any text still tokenizes; then the corpus's most frequent tokens (under the full
/// tokenizer) are kept with the merges that build them, until the vocabulary has the size asked for. The merges whose
/// result was dropped go, the rest keep their order, and ids are renumbered in the original order, so a word the
/// smaller vocabulary lacks is spelled with the longer pieces it still has. The output layer and embedding shrink with
/// the vocabulary: at 8,192 instead of GPT-2's 50,257 tokens a small model's output layer costs a sixth.
/// </summary>
public static class PrunedBpeVocabulary
{
    /// <summary>
    /// The tokenizer.json of <paramref name="tokenizerJson"/> cut to <paramref name="size"/> tokens (added tokens
    /// included) by token frequency over <paramref name="corpus"/>; deterministic for the same inputs.
    /// </summary>
    public static string Build(string tokenizerJson, IEnumerable<string> corpus, int size)
    {
        ArgumentNullException.ThrowIfNull(tokenizerJson);
        ArgumentNullException.ThrowIfNull(corpus);
        var full = HuggingFaceTokenizer.FromJson(tokenizerJson);
        var root = JsonNode.Parse(tokenizerJson)!.AsObject();
        var model = root["model"]!.AsObject();
        var vocab = model["vocab"]!.AsObject().ToDictionary(p => p.Key, p => p.Value!.GetValue<int>(), StringComparer.Ordinal);
        var merges = model["merges"]!.AsArray().Select(MergePair).ToList();
        var added = (root["added_tokens"] as JsonArray ?? []).OfType<JsonObject>()
            .Select(t => (Content: t["content"]!.GetValue<string>(), Id: t["id"]!.GetValue<int>())).ToList();

        var builtBy = new Dictionary<string, (string Left, string Right)>(StringComparer.Ordinal);
        foreach (var (left, right) in merges) builtBy.TryAdd(left + right, (left, right));
        var alphabet = vocab.Keys.Where(token => !builtBy.ContainsKey(token)).ToList();
        int addedOutsideVocab = added.Count(a => !vocab.ContainsKey(a.Content));
        int room = size - addedOutsideVocab;
        if (room < alphabet.Count)
            throw new ArgumentOutOfRangeException(nameof(size), size,
                $"A pruned vocabulary needs at least {alphabet.Count + addedOutsideVocab} tokens: the {alphabet.Count} no merge builds and the {addedOutsideVocab} added ones.");

        var counts = new long[full.VocabularySize];
        foreach (var text in corpus)
        {
            foreach (var id in full.Encode(text)) counts[id]++;
        }

        var tokenById = vocab.ToDictionary(p => p.Value, p => p.Key);
        var kept = new HashSet<string>(alphabet, StringComparer.Ordinal);
        foreach (var a in added.Where(a => vocab.ContainsKey(a.Content))) kept.Add(a.Content);
        var byFrequency = Enumerable.Range(0, counts.Length)
            .Where(id => counts[id] > 0 && tokenById.ContainsKey(id))
            .OrderByDescending(id => counts[id]).ThenBy(id => id);
        foreach (var id in byFrequency)
        {
            var needed = new List<string>();
            Collect(tokenById[id], builtBy, kept, needed);
            if (kept.Count + needed.Count > room) continue;
            kept.UnionWith(needed);
            if (kept.Count == room) break;
        }

        var order = kept.OrderBy(token => vocab[token]).ToList();
        var newIds = new Dictionary<string, int>(StringComparer.Ordinal);
        var newVocab = new JsonObject();
        foreach (var token in order)
        {
            newIds[token] = newIds.Count;
            newVocab[token] = newIds[token];
        }

        var newMerges = new JsonArray();
        foreach (var (left, right) in merges)
        {
            if (kept.Contains(left) && kept.Contains(right) && kept.Contains(left + right))
                newMerges.Add($"{left} {right}");
        }

        int next = order.Count;
        foreach (var token in (root["added_tokens"] as JsonArray ?? []).OfType<JsonObject>())
        {
            var content = token["content"]!.GetValue<string>();
            token["id"] = newIds.TryGetValue(content, out var inVocab) ? inVocab : next++;
        }

        model["vocab"] = newVocab;
        model["merges"] = newMerges;
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = false });
    }

    /// <summary>Adds <paramref name="token"/> and the merge inputs that build it, recursively, when not yet kept.</summary>
    private static void Collect(string token, Dictionary<string, (string Left, string Right)> builtBy, HashSet<string> kept, List<string> needed)
    {
        if (kept.Contains(token) || needed.Contains(token)) return;
        if (builtBy.TryGetValue(token, out var parts))
        {
            Collect(parts.Left, builtBy, kept, needed);
            Collect(parts.Right, builtBy, kept, needed);
        }

        needed.Add(token);
    }

    private static (string Left, string Right) MergePair(JsonNode? merge) => merge switch
    {
        JsonValue value when value.GetValue<string>().Split(' ') is [var left, var right] => (left, right),
        JsonArray pair when pair.Count == 2 => (pair[0]!.GetValue<string>(), pair[1]!.GetValue<string>()),
        _ => throw new InvalidDataException("tokenizer.json merges must be \"a b\" strings or [a, b] pairs."),
    };
}
