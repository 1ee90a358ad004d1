using FedTune.Core.Configuration;
using System.Text;
using System.Text.Json;
using FedTune.Core.Adapters;
using FedTune.Core.Data;
using FedTune.Core.Privacy;
using FedTune.TestSupport;
using FedTune.Training.Data;
using FedTune.Training.Lora;
using FedTune.Training.Modeling;
using FedTune.Training.Tokenization;
using FedTune.Training.Trainer;

namespace FedTune.Cli.Tests.Privacy;

/// <summary>
/// A small run folder as the audit sees it: a tiny byte-level GPT-NeoX base (with tokenizer.json), a data split of two
/// hospitals (manifest.json, evaluation.jsonl, hospital-N/train.jsonl + heldout.jsonl), canaries.json, and LoRA
/// adapters trained on the hospitals' training records, placed as a final federated model, a round checkpoint and
/// a DP run. Built once per test class.
/// </summary>
public sealed class PrivacyRunFixture : IDisposable
{
    private static readonly string[] Words =
        ["fever", "cough", "rash", "nausea", "insulin", "statin", "biopsy", "sepsis", "edema", "asthma", "anemia", "stroke", "ulcer", "gout", "lupus", "angina"];

    public PrivacyRunFixture()
    {
        RunDirectory = Path.Combine(Path.GetTempPath(), "fedtune-privacy-cli-tests", Guid.NewGuid().ToString("N"));
        // The base model lives outside the usual names, found through rounds.json as in a simulation run.
        BaseDirectory = Path.Combine(RunDirectory, "model-cache", "embedded");
        ByteLevelNeoXModel.Save(
            new GptNeoXConfig
            {
                VocabSize = 257, HiddenSize = 64, NumHiddenLayers = 2, NumAttentionHeads = 4, IntermediateSize = 128,
                MaxPositionEmbeddings = 512, BosTokenId = ByteLevelNeoXModel.EndOfTextId, EosTokenId = ByteLevelNeoXModel.EndOfTextId,
                InitializerRange = 0.05,
            },
            BaseDirectory,
            seed: 7);

        var random = new Random(1);
        AlpacaRecord Record() => new("Note", $"case {random.Next(1000)}", string.Join(' ', Enumerable.Range(0, 5).Select(_ => Words[random.Next(Words.Length)])) + ".");
        var hospitals = Enumerable.Range(1, 2)
            .Select(i => new HospitalShard(i - 1, $"hospital-{i}", Enumerable.Range(0, 12).Select(_ => Record()).ToList(), Enumerable.Range(0, 12).Select(_ => Record()).ToList()))
            .ToList();
        var split = new MedicalDataSplit([], Enumerable.Range(0, 12).Select(_ => Record()).ToList(), hospitals, 0, new MedicalSplitOptions());
        var canaries = CanarySet.Create(new CanaryOptions { Count = 1, Digits = 4, Candidates = 20 });
        canaries.Save(Path.Combine(RunDirectory, CanarySet.FileName));
        DatasetPartitioner.Write(split, Path.Combine(RunDirectory, "data"));

        var adapter = Path.Combine(RunDirectory, "federated", "adapter");
        TrainAdapter(canaries.InsertInto(split).Hospitals.SelectMany(h => h.Train).ToList(), adapter);
        CopyFolder(adapter, Path.Combine(RunDirectory, "federated", "checkpoints", "round-1"));
        CopyFolder(adapter, Path.Combine(RunDirectory, "federated-dp", "adapter"));
        var roundAdapters = Directory.CreateDirectory(Path.Combine(RunDirectory, ".state", "round-adapters")).FullName;
        File.WriteAllBytes(Path.Combine(roundAdapters, "round-0002.bin"), AdapterWireFormat.ToBytes(PeftAdapterFolder.Load(adapter)));
        File.WriteAllText(Path.Combine(RunDirectory, "rounds.json"), JsonSerializer.Serialize(new { base_model = new { name = "tiny", source = "embedded", path = BaseDirectory } }));
    }

    public string RunDirectory { get; }

    public string BaseDirectory { get; }

    public void Dispose()
    {
        if (Environment.GetEnvironmentVariable("FEDTUNE_KEEP_TEST_OUTPUT") == "1")
        {
            return;
        }

        try
        {
            Directory.Delete(RunDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private void TrainAdapter(IReadOnlyList<AlpacaRecord> records, string folder)
    {
        using var model = HuggingFaceModelLoader.Load(BaseDirectory);
        var config = new LoraAdapterConfig { R = 8, LoraAlpha = 16, TargetModules = ["query_key_value", "dense_h_to_4h", "dense_4h_to_h"] };
        LoraInjector.Apply(model, config, seed: 3);
        ITextTokenizer tokenizer = HuggingFaceTokenizer.Load(BaseDirectory);
        var examples = new AlpacaExampleTokenizer(tokenizer, options: new TokenizationOptions { SeqLength = 256 }).TokenizeAll(records);
        TestTrainers.Create(
            model,
            TestTrainers.Recipe(40, 5e-3) with { LrSchedulerType = LrSchedulerType.Constant },
            new CausalLmBatchCollator(tokenizer.PadTokenId)).Train(examples);
        PeftAdapterFolder.Save(folder, LoraAdapterExchange.Export(model, config));
    }

    private static void CopyFolder(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }
    }
}
