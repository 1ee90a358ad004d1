using System.Text;
using System.Text.Json;

namespace FedTune.Core.Data;

/// <summary>
/// Reads Alpaca records from a JSON array, JSON Lines or CSV file. JSON Lines and CSV are streamed record by record;
/// a JSON array is parsed in one pass over the file's bytes. Every error names the file and line and what to fix.
/// <c>instruction</c> and <c>output</c> are required strings; <c>input</c> may be missing or null (read as empty).
/// </summary>
public sealed class AlpacaDatasetReader
{
    private readonly AlpacaColumnNames _columns;

    public AlpacaDatasetReader(AlpacaColumnNames? columns = null)
    {
        _columns = columns ?? AlpacaColumnNames.Default;
        _columns.Validate();
    }

    /// <summary>Reads every record of <paramref name="path"/> into a list.</summary>
    public IReadOnlyList<AlpacaRecord> ReadAll(string path, DatasetFileFormat format = DatasetFileFormat.Auto) =>
        Read(path, format).ToList();

    /// <summary>
    /// Enumerates the records of <paramref name="path"/>. Throws <see cref="DatasetFormatException"/> for malformed
    /// input, a missing required field, or a file with no records.
    /// </summary>
    public IEnumerable<AlpacaRecord> Read(string path, DatasetFileFormat format = DatasetFileFormat.Auto)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException(
                $"Data file '{path}' does not exist: pass the path of an Alpaca JSON, JSONL or CSV file.", path);
        }

        var resolved = format == DatasetFileFormat.Auto ? DetectFormat(path) : format;
        return resolved switch
        {
            DatasetFileFormat.JsonArray => ReadJsonArray(path),
            DatasetFileFormat.JsonLines => ReadJsonLines(path),
            DatasetFileFormat.Csv => ReadCsv(path),
            _ => throw new ArgumentOutOfRangeException(nameof(format), format, "Unknown dataset format."),
        };
    }

    /// <summary>Picks the layout from the extension, else from the first non-blank character of the file.</summary>
    public static DatasetFileFormat DetectFormat(string path)
    {
        var extension = Path.GetExtension(path).ToUpperInvariant();
        switch (extension)
        {
            case ".JSONL":
            case ".NDJSON":
                return DatasetFileFormat.JsonLines;
            case ".CSV":
                return DatasetFileFormat.Csv;
        }

        using var reader = new StreamReader(path, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        int c;
        while ((c = reader.Read()) >= 0 && char.IsWhiteSpace((char)c))
        {
        }

        return c switch
        {
            -1 => throw DatasetFormatException.At(path, null, "the file is empty: it must hold at least one Alpaca record."),
            '[' => DatasetFileFormat.JsonArray,
            '{' => DatasetFileFormat.JsonLines,
            _ when extension == ".JSON" => throw DatasetFormatException.At(
                path, 1, $"expected a JSON array '[' or a JSON object '{{' but found '{(char)c}'."),
            _ => DatasetFileFormat.Csv,
        };
    }

    private List<AlpacaRecord> ReadJsonArray(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var records = new List<AlpacaRecord>();
        var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip });
        try
        {
            if (!reader.Read())
            {
                throw DatasetFormatException.At(path, null, "the file is empty: it must hold a JSON array of Alpaca records.");
            }

            if (reader.TokenType != JsonTokenType.StartArray)
            {
                throw DatasetFormatException.At(path, LineOf(bytes, reader.TokenStartIndex),
                    "expected a JSON array of records ('[ {...}, ... ]'); for one object per line use a .jsonl file.");
            }

            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                var line = LineOf(bytes, reader.TokenStartIndex);
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    throw DatasetFormatException.At(path, line,
                        $"record {records.Count} is a {reader.TokenType}, not a JSON object with instruction/input/output.");
                }

                using var document = JsonDocument.ParseValue(ref reader);
                records.Add(FromJson(document.RootElement, path, line));
            }
        }
        catch (JsonException e)
        {
            throw DatasetFormatException.At(path, e.LineNumber + 1, $"malformed JSON: {e.Message}", e);
        }

        if (records.Count == 0)
        {
            throw DatasetFormatException.At(path, null, "the JSON array holds no records: add at least one Alpaca record.");
        }

        return records;
    }

    private IEnumerable<AlpacaRecord> ReadJsonLines(string path)
    {
        using var reader = new StreamReader(path, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        long lineNumber = 0;
        var count = 0;
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            JsonDocument document;
            try
            {
                document = JsonDocument.Parse(line);
            }
            catch (JsonException e)
            {
                throw DatasetFormatException.At(path, lineNumber, $"malformed JSON on this line: {e.Message}", e);
            }

            using (document)
            {
                if (document.RootElement.ValueKind != JsonValueKind.Object)
                {
                    throw DatasetFormatException.At(path, lineNumber,
                        $"each line must be one JSON object with instruction/input/output, found {document.RootElement.ValueKind}.");
                }

                count++;
                yield return FromJson(document.RootElement, path, lineNumber);
            }
        }

        if (count == 0)
        {
            throw DatasetFormatException.At(path, null, "the file holds no records: add at least one JSON object line.");
        }
    }

    private IEnumerable<AlpacaRecord> ReadCsv(string path)
    {
        using var reader = new StreamReader(path, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        var csv = new CsvRowReader(reader, path);
        var header = csv.ReadRow();
        if (header is null)
        {
            throw DatasetFormatException.At(path, null, "the CSV file is empty: it needs a header row and at least one record.");
        }

        int instruction = ColumnIndex(header, _columns.Instruction, path, required: true);
        int input = ColumnIndex(header, _columns.Input, path, required: false);
        int output = ColumnIndex(header, _columns.Output, path, required: true);
        var count = 0;
        while (csv.ReadRow() is { } row)
        {
            if (row.Fields.Count == 1 && row.Fields[0].Length == 0)
            {
                continue;
            }

            if (row.Fields.Count != header.Fields.Count)
            {
                throw DatasetFormatException.At(path, row.LineNumber,
                    $"the row has {row.Fields.Count} fields but the header has {header.Fields.Count}: quote fields that contain commas.");
            }

            count++;
            yield return new AlpacaRecord(row.Fields[instruction], input >= 0 ? row.Fields[input] : string.Empty, row.Fields[output]);
        }

        if (count == 0)
        {
            throw DatasetFormatException.At(path, null, "the CSV file has a header but no records.");
        }
    }

    private static int ColumnIndex(CsvRow header, string name, string path, bool required)
    {
        for (int i = 0; i < header.Fields.Count; i++)
        {
            if (string.Equals(header.Fields[i].Trim(), name, StringComparison.OrdinalIgnoreCase))
            {
                return i;
            }
        }

        if (required)
        {
            throw DatasetFormatException.At(path, header.LineNumber,
                $"the header has no '{name}' column (columns: {string.Join(", ", header.Fields)}); rename the column or configure its name.");
        }

        return -1;
    }

    private AlpacaRecord FromJson(JsonElement element, string path, long line) =>
        new(
            RequiredString(element, _columns.Instruction, path, line),
            OptionalString(element, _columns.Input, path, line),
            RequiredString(element, _columns.Output, path, line));

    private static string RequiredString(JsonElement element, string name, string path, long line)
    {
        if (!element.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            throw DatasetFormatException.At(path, line,
                $"the record has no '{name}' field: every record needs string fields '{name}' (configure column names if yours differ).");
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            throw DatasetFormatException.At(path, line, $"field '{name}' is a {value.ValueKind}, expected a string.");
        }

        return value.GetString()!;
    }

    private static string OptionalString(JsonElement element, string name, string path, long line)
    {
        if (!element.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return string.Empty;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            throw DatasetFormatException.At(path, line, $"field '{name}' is a {value.ValueKind}, expected a string.");
        }

        return value.GetString()!;
    }

    private static long LineOf(byte[] bytes, long offset)
    {
        long line = 1;
        var span = bytes.AsSpan(0, (int)Math.Min(offset, bytes.Length));
        line += span.Count((byte)'\n');
        return line;
    }
}
