using System.Text.Json;
using System.Text.Json.Nodes;

namespace FedTune.Training.Privacy;

/// <summary>
/// <c>privacy-audit-inputs.json</c>: what a run tells the audit (written by the simulation at the end of a run, read by
/// <c>fedtune privacy-audit --run DIR</c>). Paths are stored relative to the file's folder when they lie inside it.
/// <code>
/// { "base_model": "base", "members": ["data/hospital-1/train.jsonl"], "non_members": ["data/evaluation.jsonl"],
///   "canaries": "canaries.json", "hospitals": [{ "id": "hospital-1", "train": "...", "heldout": "..." }],
///   "models": [{ "label": "federated", "path": "final/adapter", "arm": "Federated", "epsilon": null, "round": null }] }
/// </code>
/// </summary>
public static class AuditInputsFile
{
    public const string FileName = "privacy-audit-inputs.json";

    public static void Save(AuditInputs inputs, string path)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(path);
        var folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
        string Rel(string p) => Relative(folder, p);
        var root = new JsonObject
        {
            ["base_model"] = Rel(inputs.BaseModelDirectory),
            ["members"] = new JsonArray(inputs.MembersFiles.Select(f => (JsonNode?)Rel(f)).ToArray()),
            ["non_members"] = new JsonArray(inputs.NonMembersFiles.Select(f => (JsonNode?)Rel(f)).ToArray()),
            ["canaries"] = inputs.CanaryFile is null ? null : Rel(inputs.CanaryFile),
            ["hospitals"] = new JsonArray((inputs.Hospitals ?? []).Select(h => (JsonNode?)new JsonObject
            {
                ["id"] = h.Id,
                ["train"] = Rel(h.TrainFile),
                ["heldout"] = Rel(h.HeldOutFile),
            }).ToArray()),
            ["models"] = new JsonArray(inputs.Models.Select(m => (JsonNode?)new JsonObject
            {
                ["label"] = m.Label,
                ["path"] = Rel(m.Path),
                ["arm"] = m.Arm.ToString(),
                ["epsilon"] = m.Epsilon is { } e && double.IsFinite(e) ? e : null,
                ["round"] = m.Round,
            }).ToArray()),
        };
        Directory.CreateDirectory(folder);
        File.WriteAllText(path, root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    public static AuditInputs Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
        JsonObject root;
        try
        {
            root = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new InvalidDataException($"{path} is not a JSON object.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path} is not valid JSON ({e.Message}); re-run the simulation or pass the inputs explicitly (--base, --adapter, --members, --non-members).", e);
        }

        string Abs(JsonNode? node, string key) =>
            node is JsonValue v && v.TryGetValue<string>(out var s) && s.Length > 0
                ? Path.GetFullPath(Path.Combine(folder, s))
                : throw new InvalidDataException($"{path}: '{key}' must be a non-empty path string.");
        IReadOnlyList<string> List(string key) =>
            (root[key] as JsonArray ?? throw new InvalidDataException($"{path}: '{key}' must be a list of files."))
            .Select(n => Abs(n, key)).ToList();

        var models = (root["models"] as JsonArray ?? []).Select(n =>
        {
            var m = n as JsonObject ?? throw new InvalidDataException($"{path}: every entry of 'models' must be an object.");
            var armText = (string?)m["arm"] ?? nameof(TrainingArm.Other);
            if (!Enum.TryParse<TrainingArm>(armText, ignoreCase: true, out var arm))
            {
                throw new InvalidDataException($"{path}: arm '{armText}' is not one of {string.Join(", ", Enum.GetNames<TrainingArm>())}.");
            }

            return new AuditModelSpec(
                (string?)m["label"] ?? throw new InvalidDataException($"{path}: a model has no 'label'."),
                Abs(m["path"], "models[].path"),
                arm,
                (double?)m["epsilon"],
                (int?)m["round"]);
        }).ToList();
        var hospitals = (root["hospitals"] as JsonArray ?? []).Select(n =>
        {
            var h = n as JsonObject ?? throw new InvalidDataException($"{path}: every entry of 'hospitals' must be an object.");
            return new HospitalRecordFiles(
                (string?)h["id"] ?? throw new InvalidDataException($"{path}: a hospital has no 'id'."),
                Abs(h["train"], "hospitals[].train"),
                Abs(h["heldout"], "hospitals[].heldout"));
        }).ToList();
        return new AuditInputs(
            Abs(root["base_model"], "base_model"),
            models,
            List("members"),
            List("non_members"),
            root["canaries"] is null ? null : Abs(root["canaries"], "canaries"),
            hospitals);
    }

    private static string Relative(string folder, string path)
    {
        var full = Path.GetFullPath(path);
        var relative = Path.GetRelativePath(folder, full);
        return relative.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(relative) ? full : relative.Replace('\\', '/');
    }
}
