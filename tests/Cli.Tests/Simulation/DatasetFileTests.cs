using FedTune.Cli.Simulation;
using FedTune.TestSupport;
using Xunit;

namespace FedTune.Cli.Tests.Simulation;

/// <summary>dataset.name: a local path, a hub id in $FEDTUNE_DATASETS or the FEDTUNE_DATA folder, or an error that says where it looked.</summary>
public sealed class DatasetFileTests : IDisposable
{
    private readonly TempDirectory _temp = new("fedtune-dataset-file");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void A_local_file_is_used_as_it_is()
    {
        var file = _temp.WriteFile("records.jsonl", "{}");
        Assert.Equal(file, DatasetFile.Resolve(file, _ => null));
    }

    [Fact]
    public void A_hub_id_is_found_in_fedtune_datasets_as_the_single_data_file_of_its_folder()
    {
        var folder = Directory.CreateDirectory(Path.Combine(_temp.Path, "medalpaca", "medical_meadow_medical_flashcards")).FullName;
        var file = Path.Combine(folder, "medical_meadow_wikidoc_medical_flashcards.json");
        File.WriteAllText(file, "[]");
        File.WriteAllText(Path.Combine(folder, "README.md"), "card");

        var found = DatasetFile.Resolve("medalpaca/medical_meadow_medical_flashcards", v => v == "FEDTUNE_DATASETS" ? _temp.Path : null);

        Assert.Equal(file, found);
    }

    [Fact]
    public void The_built_in_dataset_id_is_found_in_the_shared_medical_meadow_folder()
    {
        var expected = TestPaths.RequireMedicalMeadowFile();
        Assert.Equal(expected, DatasetFile.Resolve("medalpaca/medical_meadow_wikidoc_patient_information", v => v == "HOME" ? _temp.Path : null));
    }

    [Fact]
    public void A_dataset_that_is_nowhere_is_an_error_naming_where_it_looked_and_the_fix()
    {
        var e = Assert.Throws<FileNotFoundException>(() =>
            DatasetFile.Resolve("medalpaca/medical_meadow_medical_flashcards", v => v switch { "FEDTUNE_DATASETS" => _temp.Path, "HOME" => _temp.Path, _ => null }));

        Assert.Contains("'medalpaca/medical_meadow_medical_flashcards' is not on this machine", e.Message, StringComparison.Ordinal);
        Assert.Contains(Path.Combine(_temp.Path, "medalpaca", "medical_meadow_medical_flashcards"), e.Message, StringComparison.Ordinal);
        Assert.Contains("pass --data FILE", e.Message, StringComparison.Ordinal);
    }
}
