using FedTune.Core.Configuration;
using FedTune.Core.Storage;

namespace FedTune.Cli.Simulation;

/// <summary>
/// The data file a configuration's <c>dataset.name</c> names: a local file or folder; or a hub id found in
/// <c>$FEDTUNE_DATASETS/org/name</c> or the Hugging Face cache (<see cref="DatasetLocator"/>), or as a file in the
/// <c>FEDTUNE_DATA</c> folder (default <c>../shared/data/medical-meadow</c>) whose name ends the id's name (e.g.
/// <c>wikidoc_patient_information.json</c> for <c>medalpaca/medical_meadow_wikidoc_patient_information</c>).
/// FedTune never downloads: when nothing is found the error says where it looked and how to supply the file.
/// </summary>
public static class DatasetFile
{
    private static readonly string[] Extensions = [".json", ".jsonl", ".ndjson", ".csv"];

    public static string Resolve(string name, Func<string, string?>? environment = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        environment ??= Environment.GetEnvironmentVariable;
        if (File.Exists(name)) return Path.GetFullPath(name);
        string? located = null;
        string notFound;
        try
        {
            located = DatasetLocator.Resolve(name, environment).Path;
            notFound = "";
        }
        catch (ArtifactNotFoundException e)
        {
            notFound = e.Message;
        }

        if (located is not null) return File.Exists(located) ? located : SingleDataFile(located, name);

        var dataFolder = RepositoryLayout.FindMedicalMeadow();
        var stem = name.TrimEnd('/')[(name.TrimEnd('/').LastIndexOf('/') + 1)..];
        if (dataFolder is not null)
        {
            var match = Directory.EnumerateFiles(dataFolder)
                .Where(f => Extensions.Contains(Path.GetExtension(f), StringComparer.OrdinalIgnoreCase))
                .Where(f => stem.EndsWith(Path.GetFileNameWithoutExtension(f), StringComparison.OrdinalIgnoreCase))
                .Order(StringComparer.Ordinal)
                .FirstOrDefault();
            if (match is not null) return match;
        }

        throw new FileNotFoundException(
            $"dataset.name '{name}' is not on this machine. {notFound} Also looked in the FEDTUNE_DATA folder " +
            $"({dataFolder ?? "not set, and no ../shared/data/medical-meadow beside the checkout"}) for a file named like '{stem}.json'. " +
            "Fix: pass --data FILE (an Alpaca JSON/JSONL file), or write a local path as dataset.name.");
    }

    private static string SingleDataFile(string folder, string name)
    {
        var files = Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .Where(f => Extensions.Contains(Path.GetExtension(f), StringComparer.OrdinalIgnoreCase))
            .Order(StringComparer.Ordinal)
            .ToList();
        return files.Count == 1
            ? files[0]
            : throw new FileNotFoundException(files.Count == 0
                ? $"dataset.name '{name}' is the folder {folder}, which holds no .json, .jsonl or .csv file. Fix: pass --data FILE."
                : $"dataset.name '{name}' is the folder {folder}, which holds {files.Count} data files ({string.Join(", ", files.Select(Path.GetFileName))}). Fix: pass --data FILE to pick one.");
    }
}
