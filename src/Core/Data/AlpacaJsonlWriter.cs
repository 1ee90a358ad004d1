using System.Text;
using System.Text.Json;

namespace FedTune.Core.Data;

/// <summary>Writes Alpaca records as JSON Lines (<c>{"instruction","input","output"}</c> per line), atomically.</summary>
public static class AlpacaJsonlWriter
{
    /// <summary>Writes to a temporary file beside <paramref name="path"/> and moves it into place, so a crash leaves no half file.</summary>
    public static void Write(string path, IEnumerable<AlpacaRecord> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(directory);
        var temporary = path + ".tmp";
        using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = false }))
        {
            foreach (var record in records)
            {
                json.WriteStartObject();
                json.WriteString("instruction", record.Instruction);
                json.WriteString("input", record.Input);
                json.WriteString("output", record.Output);
                json.WriteEndObject();
                json.Flush();
                stream.WriteByte((byte)'\n');
                json.Reset();
            }
        }

        File.Move(temporary, path, overwrite: true);
    }

    internal static readonly Encoding Utf8 = new UTF8Encoding(false);
}
