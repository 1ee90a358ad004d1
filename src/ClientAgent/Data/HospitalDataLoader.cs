using FedTune.ClientAgent.Configuration;
using FedTune.ClientAgent.Execution;
using FedTune.Core.Data;
using FedTune.Core.Protocol;

namespace FedTune.ClientAgent.Data;

/// <summary>
/// Reads the hospital's data files and splits them into train and held-out parts with the hospital's own seed
/// (<see cref="DataOptions.SplitSeed"/>, fixed across rounds, so held-out records are never trained on).
/// Bad input becomes a <see cref="TaskFailedException"/> whose public message names the file and line but never
/// the records' text.
/// </summary>
public static class HospitalDataLoader
{
    public static HospitalDataset Load(DataOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var reader = new AlpacaDatasetReader(new AlpacaColumnNames(options.InstructionColumn, options.InputColumn, options.OutputColumn));
        var records = new List<AlpacaRecord>();
        foreach (var path in options.Paths.Where(p => !string.IsNullOrWhiteSpace(p)))
        {
            records.AddRange(ReadFile(reader, path, ToFileFormat(options.Format)));
        }

        for (int i = 0; i < records.Count; i++)
        {
            var r = records[i];
            long length = (long)r.Instruction.Length + r.Input.Length + r.Output.Length;
            if (length > options.MaxRecordCharacters)
            {
                throw new TaskFailedException(FailureReasons.RecordTooLong,
                    $"Record {i + 1} of the hospital's data has {length} characters, above Data:MaxRecordCharacters ({options.MaxRecordCharacters}). " +
                    "Fix: split or shorten that record, or raise Data:MaxRecordCharacters if such records are expected.");
            }
        }

        var (train, heldOut) = Split(records, options.HeldOutFraction, options.SplitSeed);
        if (train.Count == 0)
        {
            throw new TaskFailedException(FailureReasons.EmptySplit,
                $"The training split is empty ({records.Count} records, Data:HeldOutFraction {options.HeldOutFraction}). " +
                "Fix: add records to the data files or lower Data:HeldOutFraction.");
        }

        if (options.HeldOutFraction > 0 && heldOut.Count == 0)
        {
            throw new TaskFailedException(FailureReasons.EmptySplit,
                $"The held-out split is empty ({records.Count} records are too few for Data:HeldOutFraction {options.HeldOutFraction}). " +
                "Fix: add records, raise Data:HeldOutFraction, or set it to 0 to skip evaluation.");
        }

        return new HospitalDataset(train, heldOut);
    }

    /// <summary>A seeded shuffle, then the first ceil(fraction·n) records are held out (at least one when fraction &gt; 0 and n &gt; 1).</summary>
    public static (List<AlpacaRecord> Train, List<AlpacaRecord> HeldOut) Split(IReadOnlyList<AlpacaRecord> records, double heldOutFraction, int seed)
    {
        ArgumentNullException.ThrowIfNull(records);
        var order = Enumerable.Range(0, records.Count).ToArray();
        new Random(seed).Shuffle(order);
        int heldOutCount = heldOutFraction <= 0 || records.Count < 2 ? 0 : Math.Max(1, (int)Math.Ceiling(records.Count * heldOutFraction));
        var heldOut = order.Take(heldOutCount).Select(i => records[i]).ToList();
        var train = order.Skip(heldOutCount).Select(i => records[i]).ToList();
        return (train, heldOut);
    }

    private static List<AlpacaRecord> ReadFile(AlpacaDatasetReader reader, string path, DatasetFileFormat format)
    {
        string name = Path.GetFileName(path);
        try
        {
            return reader.ReadAll(path, format).ToList();
        }
        catch (FileNotFoundException e)
        {
            throw new TaskFailedException(FailureReasons.DataMissing,
                $"Data file '{name}' does not exist. Fix: check Data:Paths in the agent's settings.", e.Message, e);
        }
        catch (DirectoryNotFoundException e)
        {
            throw new TaskFailedException(FailureReasons.DataMissing,
                $"The folder of data file '{name}' does not exist. Fix: check Data:Paths in the agent's settings.", e.Message, e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new TaskFailedException(FailureReasons.DataMissing,
                $"Data file '{name}' cannot be read by the agent's user. Fix: grant the service user read access.", e.Message, e);
        }
        catch (DatasetFormatException e)
        {
            string where = e.LineNumber is long line ? $" at line {line}" : "";
            throw new TaskFailedException(FailureReasons.DataMalformed,
                $"Data file '{name}' is not valid {FormatName(format, path)}{where}. Fix: repair the file (the agent's local log has the parser's details) or set Data:Format.",
                e.Message, e);
        }
    }

    private static string FormatName(DatasetFileFormat format, string path) =>
        (format == DatasetFileFormat.Auto ? AlpacaDatasetReader.DetectFormat(path) : format) switch
        {
            DatasetFileFormat.JsonArray => "Alpaca JSON",
            DatasetFileFormat.JsonLines => "JSON Lines",
            DatasetFileFormat.Csv => "CSV with instruction/input/output columns",
            _ => "Alpaca data",
        };

    private static DatasetFileFormat ToFileFormat(DataFormat format) => format switch
    {
        DataFormat.AlpacaJson => DatasetFileFormat.JsonArray,
        DataFormat.Jsonl => DatasetFileFormat.JsonLines,
        DataFormat.Csv => DatasetFileFormat.Csv,
        _ => DatasetFileFormat.Auto,
    };
}
