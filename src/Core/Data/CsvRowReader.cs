using System.Text;

namespace FedTune.Core.Data;

/// <summary>One CSV row with the 1-based line it starts on.</summary>
internal sealed record CsvRow(IReadOnlyList<string> Fields, long LineNumber);

/// <summary>Streams RFC 4180 rows: comma separated, double-quoted fields may hold commas, quotes ("") and newlines.</summary>
internal sealed class CsvRowReader(TextReader reader, string path)
{
    private long _line = 1;

    public CsvRow? ReadRow()
    {
        if (reader.Peek() < 0)
        {
            return null;
        }

        var start = _line;
        var fields = new List<string>();
        var field = new StringBuilder();
        var quoted = false;
        var fieldStarted = false;
        while (true)
        {
            int c = reader.Read();
            if (quoted)
            {
                if (c < 0)
                {
                    throw DatasetFormatException.At(path, start, "a quoted field is never closed: add the closing double quote.");
                }

                if (c == '"')
                {
                    if (reader.Peek() == '"')
                    {
                        reader.Read();
                        field.Append('"');
                    }
                    else
                    {
                        quoted = false;
                    }
                }
                else
                {
                    if (c == '\n')
                    {
                        _line++;
                    }

                    field.Append((char)c);
                }

                continue;
            }

            switch (c)
            {
                case -1:
                    fields.Add(field.ToString());
                    return new CsvRow(fields, start);
                case '\r':
                    break;
                case '\n':
                    _line++;
                    fields.Add(field.ToString());
                    return new CsvRow(fields, start);
                case ',':
                    fields.Add(field.ToString());
                    field.Clear();
                    fieldStarted = false;
                    break;
                case '"' when !fieldStarted && field.Length == 0:
                    quoted = true;
                    fieldStarted = true;
                    break;
                default:
                    fieldStarted = true;
                    field.Append((char)c);
                    break;
            }
        }
    }
}
