using System.Text;
using System.Text.Json;
using FedTune.Core.Data;
using FedTune.Training.Data;

namespace FedTune.Training.Evaluation;

/// <summary>
/// Loads evaluation data: JSONL lines <c>{"input_ids": [...]}</c> (pre-tokenized; every token after the first is
/// scored; no tokenizer needed), or Alpaca records (JSON, JSONL or CSV) tokenized with completion-only labels.
/// </summary>
public static class EvaluationDataset
{
    public const string InputIdsField = "input_ids";

    public static IReadOnlyList<TokenizedExample> Load(string path, AlpacaExampleTokenizer? tokenizer, AlpacaColumnNames? columns = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (IsPreTokenized(path))
        {
            return ReadPreTokenized(path);
        }

        if (tokenizer is null)
        {
            throw new ArgumentException(
                $"'{path}' holds text records, so a tokenizer is needed: pass the model folder (its tokenizer.json), or give pre-tokenized JSONL lines {{\"input_ids\": [...]}}.");
        }

        return tokenizer.TokenizeAll(new AlpacaDatasetReader(columns).Read(path));
    }

    /// <summary>True when the first non-blank line is a JSON object with an <c>input_ids</c> property.</summary>
    public static bool IsPreTokenized(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Evaluation data file '{path}' does not exist.", path);
        }

        using var reader = new StreamReader(path, Encoding.UTF8);
        while (reader.ReadLine() is { } line)
        {
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            var trimmed = line.TrimStart();
            if (!trimmed.StartsWith('{'))
            {
                return false;
            }

            try
            {
                using var document = JsonDocument.Parse(trimmed);
                return document.RootElement.TryGetProperty(InputIdsField, out _);
            }
            catch (JsonException)
            {
                return false;
            }
        }

        return false;
    }

    /// <summary>Reads <c>{"input_ids": [...]}</c> lines; errors name the file and line.</summary>
    public static IReadOnlyList<TokenizedExample> ReadPreTokenized(string path)
    {
        var examples = new List<TokenizedExample>();
        long lineNumber = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            try
            {
                using var document = JsonDocument.Parse(line);
                if (!document.RootElement.TryGetProperty(InputIdsField, out var ids) || ids.ValueKind != JsonValueKind.Array)
                {
                    throw new InvalidDataException($"{path}, line {lineNumber}: expected {{\"input_ids\": [int, ...]}}.");
                }

                var tokens = ids.EnumerateArray().Select(v => v.GetInt32()).ToArray();
                if (tokens.Any(t => t < 0))
                {
                    throw new InvalidDataException($"{path}, line {lineNumber}: token ids must not be negative.");
                }

                examples.Add(TokenizedExample.FullSequence(tokens));
            }
            catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
            {
                throw new InvalidDataException($"{path}, line {lineNumber}: not a JSON line of integer input_ids ({e.Message}).", e);
            }
        }

        if (examples.Count == 0)
        {
            throw new InvalidDataException($"{path}: the file holds no input_ids lines.");
        }

        return examples;
    }
}
