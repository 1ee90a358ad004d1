using FedTune.ClientAgent.Configuration;
using FedTune.ClientAgent.Data;
using FedTune.ClientAgent.Execution;
using FedTune.Core.Data;
using FedTune.Core.Protocol;
using FedTune.TestSupport;

namespace FedTune.ClientAgent.Tests.Data;

public sealed class HospitalDataLoaderTests : IDisposable
{
    private readonly TempDirectory _dir = new("agent-data");

    public void Dispose() => _dir.Dispose();

    private static List<AlpacaRecord> Records(int n) =>
        Enumerable.Range(0, n).Select(i => new AlpacaRecord($"Question {i}?", "", $"Answer {i}.")).ToList();

    [Fact]
    public void Split_is_seeded_disjoint_and_complete()
    {
        var records = Records(50);
        var (train, heldOut) = HospitalDataLoader.Split(records, 0.2, seed: 11);
        var (train2, heldOut2) = HospitalDataLoader.Split(records, 0.2, seed: 11);

        Assert.Equal(10, heldOut.Count);
        Assert.Equal(40, train.Count);
        Assert.Empty(train.Intersect(heldOut));
        Assert.Equal(records.ToHashSet(), train.Concat(heldOut).ToHashSet());
        Assert.Equal(train, train2);
        Assert.Equal(heldOut, heldOut2);
        Assert.NotEqual(heldOut, HospitalDataLoader.Split(records, 0.2, seed: 12).HeldOut);
    }

    [Fact]
    public void Load_reads_csv_with_named_columns()
    {
        var file = _dir.File("notes.csv");
        File.WriteAllText(file, "question,context,answer\n" + string.Join("\n", Enumerable.Range(0, 10).Select(i => $"\"Q{i}, really?\",,A{i}")) + "\n");
        var data = HospitalDataLoader.Load(new DataOptions
        {
            Paths = [file],
            Format = DataFormat.Csv,
            InstructionColumn = "question",
            InputColumn = "context",
            OutputColumn = "answer",
            HeldOutFraction = 0.2,
        });

        Assert.Equal(8, data.Train.Count);
        Assert.Equal(2, data.HeldOut.Count);
        Assert.Contains(data.Train.Concat(data.HeldOut), r => r.Instruction == "Q3, really?" && r.Output == "A3");
    }

    [Fact]
    public void A_missing_file_fails_with_data_missing_and_names_the_file()
    {
        var e = Assert.Throws<TaskFailedException>(() => HospitalDataLoader.Load(new DataOptions { Paths = [_dir.File("absent.jsonl")] }));
        Assert.Equal(FailureReasons.DataMissing, e.ReasonCode);
        Assert.Contains("absent.jsonl", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_malformed_file_fails_with_data_malformed_naming_the_line_but_not_its_text()
    {
        var file = _dir.File("broken.jsonl");
        File.WriteAllText(file, "{\"instruction\":\"ok\",\"output\":\"fine\"}\n{\"instruction\":\"SECRET-PATIENT-NAME\", oops\n");
        var e = Assert.Throws<TaskFailedException>(() => HospitalDataLoader.Load(new DataOptions { Paths = [file] }));
        Assert.Equal(FailureReasons.DataMalformed, e.ReasonCode);
        Assert.Contains("line 2", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("SECRET-PATIENT-NAME", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Too_few_records_for_a_held_out_split_fail_with_empty_split()
    {
        var file = _dir.File("one.jsonl");
        File.WriteAllText(file, "{\"instruction\":\"q\",\"output\":\"a\"}\n");
        var e = Assert.Throws<TaskFailedException>(() => HospitalDataLoader.Load(new DataOptions { Paths = [file], HeldOutFraction = 0.1 }));
        Assert.Equal(FailureReasons.EmptySplit, e.ReasonCode);
    }

    [Fact]
    public void A_record_above_the_character_limit_fails_with_record_too_long()
    {
        var file = _dir.File("long.jsonl");
        File.WriteAllText(file, "{\"instruction\":\"q\",\"output\":\"a\"}\n{\"instruction\":\"q\",\"output\":\"" + new string('x', 500) + "\"}\n");
        var e = Assert.Throws<TaskFailedException>(() =>
            HospitalDataLoader.Load(new DataOptions { Paths = [file], MaxRecordCharacters = 100, HeldOutFraction = 0 }));
        Assert.Equal(FailureReasons.RecordTooLong, e.ReasonCode);
        Assert.Contains("Record 2", e.Message, StringComparison.Ordinal);
    }
}
