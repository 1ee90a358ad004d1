using FedTune.Core.Data;
using Xunit;

namespace FedTune.Core.Tests.Data;

public sealed class DatasetPartitionerTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("fedtune-partition-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void Write_puts_each_hospital_in_its_own_folder_and_the_files_read_back_identically()
    {
        var records = Enumerable.Range(0, 50)
            .Select(i => new AlpacaRecord("Answer this question truthfully", $"What causes Disease{i % 7}?", $"Because \"{i}\",\nnewline"))
            .ToList();
        var split = MedicalDataSplitter.Split(records, new MedicalSplitOptions { HospitalCount = 2, Partitioning = HospitalPartitioning.ByTopic });

        var files = DatasetPartitioner.Write(split, _folder);

        var reader = new AlpacaDatasetReader();
        Assert.Equal(split.Public, reader.ReadAll(files.PublicPath));
        Assert.Equal(split.Evaluation, reader.ReadAll(files.EvaluationPath));
        for (int h = 0; h < 2; h++)
        {
            Assert.Equal(Path.Combine(_folder, $"hospital-{h + 1}", "train.jsonl"), files.Hospitals[h].TrainPath);
            Assert.Equal(split.Hospitals[h].Train, reader.ReadAll(files.Hospitals[h].TrainPath));
            Assert.Equal(split.Hospitals[h].HeldOut, reader.ReadAll(files.Hospitals[h].HeldOutPath));
        }

        Assert.Contains("\"partitioning\": \"ByTopic\"", File.ReadAllText(files.ManifestPath), StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(_folder, "*.tmp", SearchOption.AllDirectories));
    }
}
