using System.Text.Json;

namespace FedTune.Core.Data;

/// <summary>Paths of the files <see cref="DatasetPartitioner.Write"/> produced.</summary>
public sealed record PartitionedDatasetFiles(
    string Directory,
    string PublicPath,
    string EvaluationPath,
    IReadOnlyList<HospitalShardFiles> Hospitals,
    string ManifestPath);

/// <summary>One hospital's folder: its training records and its held-out records.</summary>
public sealed record HospitalShardFiles(string Name, string TrainPath, string HeldOutPath, int TrainCount, int HeldOutCount);

/// <summary>
/// Writes a <see cref="MedicalDataSplit"/> to disk for simulation: <c>public.jsonl</c>, <c>evaluation.jsonl</c>,
/// <c>hospital-N/train.jsonl</c> and <c>hospital-N/heldout.jsonl</c> (each hospital's folder is all that hospital's
/// agent is given), and <c>manifest.json</c> with the counts and the options that made the split.
/// </summary>
public static class DatasetPartitioner
{
    public static PartitionedDatasetFiles Write(MedicalDataSplit split, string directory)
    {
        ArgumentNullException.ThrowIfNull(split);
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        System.IO.Directory.CreateDirectory(directory);

        var publicPath = Path.Combine(directory, "public.jsonl");
        var evaluationPath = Path.Combine(directory, "evaluation.jsonl");
        AlpacaJsonlWriter.Write(publicPath, split.Public);
        AlpacaJsonlWriter.Write(evaluationPath, split.Evaluation);

        var hospitals = new List<HospitalShardFiles>();
        foreach (var shard in split.Hospitals)
        {
            var folder = Path.Combine(directory, shard.Name);
            var train = Path.Combine(folder, "train.jsonl");
            var heldOut = Path.Combine(folder, "heldout.jsonl");
            AlpacaJsonlWriter.Write(train, shard.Train);
            AlpacaJsonlWriter.Write(heldOut, shard.HeldOut);
            hospitals.Add(new HospitalShardFiles(shard.Name, train, heldOut, shard.Train.Count, shard.HeldOut.Count));
        }

        var manifestPath = Path.Combine(directory, "manifest.json");
        var manifest = new
        {
            publicCount = split.Public.Count,
            evaluationCount = split.Evaluation.Count,
            duplicatesRemoved = split.DuplicatesRemoved,
            options = new
            {
                hospitalCount = split.Options.HospitalCount,
                publicFraction = split.Options.PublicFraction,
                evaluationFraction = split.Options.EvaluationFraction,
                hospitalHeldOutFraction = split.Options.HospitalHeldOutFraction,
                partitioning = split.Options.Partitioning.ToString(),
                dirichletAlpha = split.Options.DirichletAlpha,
                seed = split.Options.Seed,
            },
            hospitals = hospitals.Select(h => new { name = h.Name, train = h.TrainCount, heldOut = h.HeldOutCount }),
        };
        var temporary = manifestPath + ".tmp";
        File.WriteAllText(temporary, JsonSerializer.Serialize(manifest, ManifestJson), AlpacaJsonlWriter.Utf8);
        File.Move(temporary, manifestPath, overwrite: true);
        return new PartitionedDatasetFiles(directory, publicPath, evaluationPath, hospitals, manifestPath);
    }

    private static readonly JsonSerializerOptions ManifestJson = new() { WriteIndented = true };
}
