using FedTune.Core.Data;
using FedTune.Core.Privacy;

namespace FedTune.Core.Tests.Privacy;

public sealed class CanarySetTests
{
    [Fact]
    public void Create_is_seeded_and_draws_distinct_patients_with_numbers_of_the_requested_format()
    {
        var options = new CanaryOptions { Count = 5, Digits = 8, Candidates = 100, Seed = 3 };
        var a = CanarySet.Create(options);
        var b = CanarySet.Create(options);
        Assert.Equal(a.Canaries, b.Canaries);
        Assert.Equal(5, a.Canaries.Select(c => c.PatientName).Distinct().Count());
        Assert.All(a.Canaries, c => Assert.Matches("^[1-9][0-9]{7}$", c.Secret));
        Assert.Contains(a.Canaries[0].Secret, a.Canaries[0].Record.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void AlternativeNumbers_are_distinct_same_format_and_never_the_secret()
    {
        var set = CanarySet.Create(new CanaryOptions { Count = 2, Digits = 6, Candidates = 1000 });
        var alternatives = set.AlternativeNumbers(set.Canaries[1]);
        Assert.Equal(999, alternatives.Count);
        Assert.Equal(999, alternatives.Distinct().Count());
        Assert.DoesNotContain(set.Canaries[1].Secret, alternatives);
        Assert.All(alternatives, n => Assert.Matches("^[1-9][0-9]{5}$", n));
        Assert.Equal(alternatives, set.AlternativeNumbers(set.Canaries[1]));
    }

    [Fact]
    public void AlternativeNumbers_are_the_same_in_every_process_so_a_later_audit_ranks_against_the_run_audits_candidates()
    {
        // Fixed values: a per-process hash seed (HashCode.Combine) would draw other numbers in each process.
        var set = CanarySet.Create(new CanaryOptions { Count = 2, Digits = 8, Candidates = 100, Seed = 42 });
        Assert.Equal(["67318421", "11884149", "93774259"], set.AlternativeNumbers(set.Canaries[0]).Take(3));
        Assert.Equal(["72641849", "82923055", "71106093"], set.AlternativeNumbers(set.Canaries[1]).Take(3));
    }

    [Fact]
    public void InsertInto_puts_every_repetition_into_the_chosen_hospital_only()
    {
        var records = Enumerable.Range(0, 20).Select(i => new AlpacaRecord("i", $"q{i}", $"a{i}")).ToList();
        var split = new MedicalDataSplit([], [], [new HospitalShard(0, "h0", records[..10], []), new HospitalShard(1, "h1", records[10..], [records[0]])], 0, new MedicalSplitOptions());
        var set = CanarySet.Create(new CanaryOptions { Count = 2, Repetitions = 3, HospitalIndex = 1, Candidates = 10 });
        var withCanaries = set.InsertInto(split);
        Assert.Equal(split.Hospitals[0], withCanaries.Hospitals[0]);
        Assert.Equal(16, withCanaries.Hospitals[1].Train.Count);
        Assert.Equal(3, withCanaries.Hospitals[1].Train.Count(r => r == set.Canaries[0].Record));
        Assert.Equal(records[10..], withCanaries.Hospitals[1].Train.Where(r => !r.Input.Contains("medical record", StringComparison.Ordinal)));
        Assert.Equal(split.Hospitals[1].HeldOut, withCanaries.Hospitals[1].HeldOut);
        Assert.Throws<ArgumentException>(() => CanarySet.Create(new CanaryOptions { HospitalIndex = 2, Candidates = 10 }).InsertInto(split));
    }

    [Fact]
    public void Save_and_Load_round_trip_and_bad_files_get_clear_errors()
    {
        var folder = Directory.CreateTempSubdirectory("fedtune-canary-");
        try
        {
            var path = Path.Combine(folder.FullName, CanarySet.FileName);
            var set = CanarySet.Create(new CanaryOptions { Count = 3, Candidates = 50 });
            set.Save(path);
            var loaded = CanarySet.Load(path);
            Assert.Equal(set.Options, loaded.Options);
            Assert.Equal(set.Canaries, loaded.Canaries);

            File.WriteAllText(path, "{ not json");
            var error = Assert.Throws<InvalidDataException>(() => CanarySet.Load(path));
            Assert.Contains("not a valid canary file", error.Message, StringComparison.Ordinal);
            Assert.Throws<FileNotFoundException>(() => CanarySet.Load(Path.Combine(folder.FullName, "missing.json")));
        }
        finally
        {
            folder.Delete(true);
        }
    }
}
