using FedTune.Core.Data;
using FedTune.Core.Privacy;
using FedTune.Core.Storage;

namespace FedTune.Cli.Simulation;

/// <summary>The shard files a simulation wrote, with what the report needs to compare arms per specialty.</summary>
/// <param name="Files">The files (evaluation split, each hospital's train and held-out records).</param>
/// <param name="EvaluationSpecialties">Each evaluation record's specialty, in file order.</param>
/// <param name="HospitalSpecialties">The specialties each hospital holds (empty lists unless partitioned by specialty).</param>
/// <param name="PublicPart">How the public part (the embedded base model's pretraining data) was drawn.</param>
public sealed record PreparedData(
    PartitionedDatasetFiles Files,
    IReadOnlyList<MedicalSpecialty> EvaluationSpecialties,
    IReadOnlyDictionary<string, IReadOnlyList<MedicalSpecialty>> HospitalSpecialties,
    PublicPartSelection PublicPart)
{
    /// <summary>The canaries planted in a hospital's training shard, when asked for.</summary>
    public CanarySet? Canaries { get; init; }
}

/// <summary>
/// Splits the real records into a public part (never used here: the embedded base model's pretraining data), a
/// held-out evaluation split and one private shard per hospital, seeded, and writes each hospital's shard to its own
/// folder (the only data its agent is given).
/// </summary>
public static class SimulationData
{
    public const string DefaultFileName = "wikidoc_patient_information.json";

    /// <summary>The file to split: the given one, else the shared medical data, else an error with the fix.</summary>
    public static string ResolveDataFile(string? given)
    {
        if (given is not null) return Path.GetFullPath(given);
        var folder = RepositoryLayout.FindMedicalMeadow()
            ?? throw new FileNotFoundException(
                "The medical data folder was not found (../shared/data/medical-meadow beside the checkout). " +
                "Fix: pass --data FILE (an Alpaca JSON or JSONL file), or set FEDTUNE_DATA to the folder holding " + DefaultFileName + ".");
        var file = Path.Combine(folder, DefaultFileName);
        return File.Exists(file) ? file
            : throw new FileNotFoundException($"{file} does not exist. Fix: pass --data FILE (an Alpaca JSON or JSONL file).", file);
    }

    /// <summary>Hospital ids as the federation names them (the shard folder names).</summary>
    public static IReadOnlyList<string> HospitalIds(int count) =>
        Enumerable.Range(1, count).Select(i => "hospital-" + i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToList();

    /// <summary>Splits <paramref name="dataFile"/> and writes the parts under <paramref name="directory"/>.</summary>
    /// <remarks>When <paramref name="canaries"/> is given, its records are planted in its hospital's training shard before the shards are written.</remarks>
    public static PreparedData Prepare(SimulationOptions options, string dataFile, string directory, CanarySet? canaries = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var records = new AlpacaDatasetReader().ReadAll(dataFile);
        if (records.Count == 0)
        {
            throw new InvalidDataException($"{dataFile} holds no records. Fix: give an Alpaca JSON/JSONL file with instruction, input and output fields.");
        }
        var split = MedicalDataSplitter.Split(records, new MedicalSplitOptions
        {
            HospitalCount = options.Hospitals,
            Partitioning = options.Partitioning,
            PublicPart = PublicPartSelection.GeneralMedicine,
            Seed = options.Seed,
        });
        split = Trim(split, options.EvalExamples, options.RecordsPerHospital);
        if (canaries is not null) split = canaries.InsertInto(split);
        var files = DatasetPartitioner.Write(split, directory);
        var ids = HospitalIds(options.Hospitals);
        if (!files.Hospitals.Select(h => h.Name).SequenceEqual(ids, StringComparer.Ordinal))
        {
            throw new InvalidOperationException("The data splitter named the hospital folders " + string.Join(", ", files.Hospitals.Select(h => h.Name)) +
                "; the simulation expects " + string.Join(", ", ids) + ".");
        }
        return new PreparedData(files, split.EvaluationSpecialties,
            split.Hospitals.ToDictionary(h => h.Name, h => h.Specialties, StringComparer.Ordinal), split.PublicPartUsed) { Canaries = canaries };
    }

    /// <summary>Keeps the first <paramref name="evalExamples"/> evaluation records and at most <paramref name="perHospital"/>
    /// records per hospital (train and held-out in their proportion); 0 keeps all. Order is the splitter's seeded order.</summary>
    public static MedicalDataSplit Trim(MedicalDataSplit split, int evalExamples, int perHospital)
    {
        ArgumentNullException.ThrowIfNull(split);
        var hospitals = split.Hospitals.Select(h =>
        {
            int total = h.Train.Count + h.HeldOut.Count;
            if (perHospital <= 0 || total <= perHospital) return h;
            int heldOut = Math.Max(h.HeldOut.Count == 0 ? 0 : 1, (int)Math.Round((double)h.HeldOut.Count * perHospital / total));
            return h with { Train = h.Train.Take(perHospital - heldOut).ToList(), HeldOut = h.HeldOut.Take(heldOut).ToList() };
        }).ToList();
        return split with
        {
            Evaluation = split.Evaluation.Take(evalExamples).ToList(),
            EvaluationSpecialties = split.EvaluationSpecialties.Take(evalExamples).ToList(),
            Hospitals = hospitals,
        };
    }
}
