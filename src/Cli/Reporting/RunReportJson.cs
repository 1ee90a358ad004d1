using System.Text.Json;
using System.Text.Json.Serialization;

namespace FedTune.Cli.Reporting;

/// <summary>rounds.json: the whole <see cref="RunReport"/> (snake_case keys, enums as lower-case strings), and reading it back.</summary>
public static class RunReportJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) },
    };

    public static string Serialize(RunReport report) => JsonSerializer.Serialize(report, Options);

    public static RunReport Deserialize(string json, string source)
    {
        try
        {
            return JsonSerializer.Deserialize<RunReport>(json, Options)
                ?? throw new InvalidDataException($"{source} holds no run report (it is 'null').");
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException(
                $"{source} is not a valid run report ({ex.Message}). Fix: start the run again with --fresh, or delete that file.", ex);
        }
    }

    /// <summary>Writes atomically (temp file then rename) so a crash never leaves half a file.</summary>
    public static void Write(RunReport report, string path) => AtomicFile.WriteAllText(path, Serialize(report));

    public static RunReport Read(string path) => Deserialize(File.ReadAllText(path), path);
}
