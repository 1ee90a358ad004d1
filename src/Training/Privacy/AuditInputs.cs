using FedTune.Core.Adapters;

namespace FedTune.Training.Privacy;

/// <summary>
/// Everything an audit reads. Members are records the models trained on; non-members are held-out records from the
/// SAME distribution (never a different data set: a distribution shift alone makes any attack look strong).
/// <see cref="CanaryFile"/> is the run's canaries.json when canaries were planted.
/// </summary>
public sealed record AuditInputs(
    string BaseModelDirectory,
    IReadOnlyList<AuditModelSpec> Models,
    IReadOnlyList<string> MembersFiles,
    IReadOnlyList<string> NonMembersFiles,
    string? CanaryFile = null,
    IReadOnlyList<HospitalRecordFiles>? Hospitals = null)
{
    /// <summary>
    /// The per-hospital audit: members are hospital <paramref name="hospitalId"/>'s own training records, non-members its
    /// own held-out records, so the audit needs nothing from any other hospital.
    /// </summary>
    public AuditInputs ForHospital(string hospitalId)
    {
        var hospital = Hospitals?.FirstOrDefault(h => string.Equals(h.Id, hospitalId, StringComparison.Ordinal))
            ?? throw new ArgumentException(
                $"Hospital '{hospitalId}' is not part of this audit; known hospitals: {string.Join(", ", Hospitals?.Select(h => h.Id) ?? ["none"])}.");
        return this with { MembersFiles = [hospital.TrainFile], NonMembersFiles = [hospital.HeldOutFile] };
    }

    /// <summary>Throws naming the first missing or malformed input and how to fix it.</summary>
    public void Validate()
    {
        if (!File.Exists(Path.Combine(BaseModelDirectory, "config.json")))
        {
            throw new ArgumentException(
                $"The base model folder '{BaseModelDirectory}' has no config.json: pass the Hugging Face folder of the model the adapters were trained on (--base DIR).");
        }

        if (MembersFiles.Count == 0 || NonMembersFiles.Count == 0)
        {
            throw new ArgumentException("An audit needs at least one members file (--members FILE) and one non-members file (--non-members FILE).");
        }

        foreach (var file in MembersFiles)
        {
            RequireFile(file, "members (training records)", "--members FILE");
        }

        foreach (var file in NonMembersFiles)
        {
            RequireFile(file, "non-members (held-out records of the same distribution)", "--non-members FILE");
        }

        if (CanaryFile is not null)
        {
            RequireFile(CanaryFile, "canaries", "--canaries FILE");
        }

        var labels = new HashSet<string>(StringComparer.Ordinal) { AuditModelSpec.BaseLabel };
        foreach (var model in Models)
        {
            if (!labels.Add(model.Label))
            {
                throw new ArgumentException($"Model label '{model.Label}' is used twice (or is the reserved '{AuditModelSpec.BaseLabel}'): give each model its own label.");
            }

            var isAdapter = File.Exists(model.Path) || File.Exists(Path.Combine(model.Path, PeftAdapterFolder.ConfigFileName));
            var isModel = File.Exists(Path.Combine(model.Path, "config.json"));
            if (!isAdapter && !isModel)
            {
                throw new ArgumentException(
                    $"Model '{model.Label}' at '{model.Path}' is neither an adapter (a PEFT folder with {PeftAdapterFolder.ConfigFileName}, or a wire-format adapter file) nor a Hugging Face model folder (config.json).");
            }
        }
    }

    private static void RequireFile(string path, string what, string option)
    {
        if (!File.Exists(path))
        {
            throw new ArgumentException($"The {what} file '{path}' does not exist: pass it with {option} (JSON, JSONL or CSV Alpaca records).");
        }
    }
}
