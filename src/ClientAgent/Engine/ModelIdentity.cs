using System.Text.Json;

namespace FedTune.ClientAgent.Engine;

/// <summary>
/// Whether a local model folder holds the base model a run names. The folder's names are the configured
/// <c>ModelName</c>, config.json's <c>_name_or_path</c> and the folder's own name; the run's name matches one of them
/// exactly or by its last path segment (<c>EleutherAI/pythia-70m</c> matches a folder called <c>pythia-70m</c>).
/// </summary>
public static class ModelIdentity
{
    public static IReadOnlyList<string> NamesOf(string modelFolder, string? configuredName)
    {
        ArgumentNullException.ThrowIfNull(modelFolder);
        var names = new List<string>();
        if (!string.IsNullOrWhiteSpace(configuredName))
        {
            names.Add(configuredName.Trim());
            return names;
        }

        var config = Path.Combine(modelFolder, "config.json");
        if (File.Exists(config))
        {
            try
            {
                using var doc = JsonDocument.Parse(File.ReadAllBytes(config));
                if (doc.RootElement.ValueKind == JsonValueKind.Object &&
                    doc.RootElement.TryGetProperty("_name_or_path", out var value) && value.ValueKind == JsonValueKind.String &&
                    !string.IsNullOrWhiteSpace(value.GetString()))
                {
                    names.Add(value.GetString()!.Trim());
                }
            }
            catch (JsonException)
            {
                // The loader reports a malformed config.json with a precise message.
            }
        }

        names.Add(new DirectoryInfo(Path.TrimEndingDirectorySeparator(Path.GetFullPath(modelFolder))).Name);
        return names;
    }

    public static bool Matches(string runBaseModel, IReadOnlyList<string> folderNames)
    {
        ArgumentNullException.ThrowIfNull(runBaseModel);
        ArgumentNullException.ThrowIfNull(folderNames);
        string wanted = runBaseModel.Trim();
        return folderNames.Any(n =>
            string.Equals(n, wanted, StringComparison.OrdinalIgnoreCase) ||
            string.Equals(LastSegment(n), LastSegment(wanted), StringComparison.OrdinalIgnoreCase));
    }

    private static string LastSegment(string name)
    {
        var trimmed = name.TrimEnd('/', '\\');
        int slash = trimmed.LastIndexOfAny(['/', '\\']);
        return slash < 0 ? trimmed : trimmed[(slash + 1)..];
    }
}
