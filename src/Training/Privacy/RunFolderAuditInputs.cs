using System.Globalization;
using System.Text.RegularExpressions;
using FedTune.Core.Adapters;
using FedTune.Core.Privacy;

namespace FedTune.Training.Privacy;

/// <summary>
/// Finds what to audit in a run folder: <see cref="AuditInputsFile.FileName"/> when the run wrote one; otherwise the
/// data split (the folder with <c>manifest.json</c>, <c>evaluation.jsonl</c> and <c>hospital-N/train.jsonl</c> +
/// <c>heldout.jsonl</c>), <c>canaries.json</c>, every PEFT adapter folder below the run (its arm read from the path:
/// "centralized", "local", "dp", else federated; its round from "round-N" or "checkpoint-N"), the round checkpoints
/// <c>.state/round-adapters/round-NNNN.bin</c>, and the base model from <c>rounds.json</c>'s <c>base_model.path</c>
/// (or a <c>base</c> folder in the run).
/// </summary>
public static partial class RunFolderAuditInputs
{
    private static readonly string[] BaseModelFolderNames = ["base", "base-model", "base_model"];

    public static AuditInputs Discover(string runDirectory, string? baseModelDirectory = null)
    {
        ArgumentNullException.ThrowIfNull(runDirectory);
        if (!Directory.Exists(runDirectory))
        {
            throw new DirectoryNotFoundException($"Run folder '{runDirectory}' does not exist: pass the folder `fedtune simulate` wrote (--run DIR).");
        }

        var inputsFile = Path.Combine(runDirectory, AuditInputsFile.FileName);
        if (File.Exists(inputsFile))
        {
            var inputs = AuditInputsFile.Load(inputsFile);
            return baseModelDirectory is null ? inputs : inputs with { BaseModelDirectory = Path.GetFullPath(baseModelDirectory) };
        }

        var dataFolder = FindDataFolder(runDirectory)
            ?? throw new InvalidDataException(
                $"'{runDirectory}' has no {AuditInputsFile.FileName} and no data split (manifest.json + evaluation.jsonl + hospital-N/train.jsonl): " +
                "pass the records explicitly with --members FILE and --non-members FILE.");
        var hospitals = Directory.GetDirectories(dataFolder)
            .Where(d => File.Exists(Path.Combine(d, "train.jsonl")) && File.Exists(Path.Combine(d, "heldout.jsonl")))
            .OrderBy(d => d, StringComparer.Ordinal)
            .Select(d => new HospitalRecordFiles(Path.GetFileName(d), Path.Combine(d, "train.jsonl"), Path.Combine(d, "heldout.jsonl")))
            .ToList();
        if (hospitals.Count == 0)
        {
            throw new InvalidDataException($"The data split in '{dataFolder}' has no hospital-N/train.jsonl + heldout.jsonl folders.");
        }

        var canaries = Path.Combine(runDirectory, CanarySet.FileName);
        var basePath = baseModelDirectory ?? FindBaseModel(runDirectory)
            ?? throw new InvalidDataException($"No base model found in '{runDirectory}': pass the model the run trained on with --base DIR.");
        return new AuditInputs(
            Path.GetFullPath(basePath),
            FindModels(runDirectory),
            hospitals.Select(h => h.TrainFile).ToList(),
            [Path.Combine(dataFolder, "evaluation.jsonl"), .. hospitals.Select(h => h.HeldOutFile)],
            File.Exists(canaries) ? canaries : null,
            hospitals);
    }

    /// <summary>Every adapter folder below the run, labelled by its relative path, final models before checkpoints.</summary>
    public static IReadOnlyList<AuditModelSpec> FindModels(string runDirectory)
    {
        ArgumentNullException.ThrowIfNull(runDirectory);
        var roundsFolder = Path.Combine(runDirectory, ".state", "round-adapters");
        var checkpoints = Directory.Exists(roundsFolder)
            ? Directory.GetFiles(roundsFolder, "round-*.bin")
                .Select(f => (File: f, Match: RoundSegment().Match(Path.GetFileNameWithoutExtension(f))))
                .Where(x => x.Match.Success)
                .Select(x =>
                {
                    var round = int.Parse(x.Match.Groups[1].Value, CultureInfo.InvariantCulture);
                    return new AuditModelSpec(string.Create(CultureInfo.InvariantCulture, $"round {round}"), x.File, TrainingArm.Federated, null, round);
                })
            : [];
        return Directory.EnumerateFiles(runDirectory, PeftAdapterFolder.ConfigFileName, new EnumerationOptions { RecurseSubdirectories = true, MaxRecursionDepth = 5 })
            .Select(f => Path.GetDirectoryName(f)!)
            .Select(d =>
            {
                var relative = Path.GetRelativePath(runDirectory, d).Replace('\\', '/');
                var lower = relative.ToLowerInvariant();
                var arm = lower.Contains("centralized", StringComparison.Ordinal) ? TrainingArm.Centralized
                    : lower.Contains("local", StringComparison.Ordinal) ? TrainingArm.LocalOnly
                    : DpSegment().IsMatch(lower) ? TrainingArm.FederatedDp
                    : TrainingArm.Federated;
                var round = RoundSegment().Match(lower) is { Success: true } m ? int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : (int?)null;
                return new AuditModelSpec(relative == "." ? "model" : relative, d, arm, null, round);
            })
            .Concat(checkpoints)
            .OrderBy(m => m.Round is null ? 0 : 1).ThenBy(m => m.Arm).ThenBy(m => m.Round).ThenBy(m => m.Label, StringComparer.Ordinal)
            .ToList();
    }

    private static string? FindDataFolder(string runDirectory) =>
        Directory.EnumerateFiles(runDirectory, "manifest.json", new EnumerationOptions { RecurseSubdirectories = true, MaxRecursionDepth = 3 })
            .Select(Path.GetDirectoryName)
            .FirstOrDefault(d => File.Exists(Path.Combine(d!, "evaluation.jsonl")));

    private static string? FindBaseModel(string runDirectory) => BaseModelFromRoundsJson(runDirectory) ??
        BaseModelFolderNames.Select(n => Path.Combine(runDirectory, n))
            .FirstOrDefault(d => File.Exists(Path.Combine(d, "config.json")));

    /// <summary>The simulation's rounds.json names the base model folder under base_model.path.</summary>
    private static string? BaseModelFromRoundsJson(string runDirectory)
    {
        var rounds = Path.Combine(runDirectory, "rounds.json");
        if (!File.Exists(rounds))
        {
            return null;
        }

        try
        {
            var path = (System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(rounds))?["base_model"]?["path"])?.GetValue<string>();
            return path is not null && File.Exists(Path.Combine(path, "config.json")) ? path : null;
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }

    [GeneratedRegex(@"(^|[/_-])dp([/_-]|$)")]
    private static partial Regex DpSegment();

    [GeneratedRegex(@"(?:round|checkpoint)[-_]?(\d+)")]
    private static partial Regex RoundSegment();
}
