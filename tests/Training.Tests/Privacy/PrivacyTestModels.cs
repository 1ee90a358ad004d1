using FedTune.Core.Configuration;
using FedTune.TestSupport;
using FedTune.Core.Adapters;
using FedTune.Core.Data;
using FedTune.Training.Data;
using FedTune.Training.Lora;
using FedTune.Training.Modeling;
using FedTune.Training.Tests.Trainer;
using FedTune.Training.Trainer;

namespace FedTune.Training.Tests.Privacy;

/// <summary>
/// A tiny GPT-NeoX over byte tokens, saved in Hugging Face layout, and LoRA adapters deliberately overfitted on a few
/// member records: the fixture on which a working membership attack must succeed.
/// </summary>
internal static class PrivacyTestModels
{
    public static readonly AlpacaPromptTemplate ShortTemplate = new("Q: {instruction} {input}\nA: ", "Q: {instruction}\nA: ");

    public static readonly TokenizationOptions Tokenization = new() { SeqLength = 192 };

    private static readonly string[] Words =
    [
        "fever", "cough", "rash", "nausea", "fatigue", "insulin", "statin", "biopsy", "sepsis", "edema", "asthma", "anemia",
        "migraine", "stroke", "ulcer", "hernia", "gout", "lupus", "angina", "eczema", "measles", "mumps", "tetanus", "polyp",
    ];

    public static GptNeoXConfig Config { get; } = new()
    {
        VocabSize = 260,
        HiddenSize = 64,
        NumAttentionHeads = 4,
        NumHiddenLayers = 2,
        IntermediateSize = 128,
        MaxPositionEmbeddings = 256,
        InitializerRange = 0.05,
    };

    /// <summary>Records of one distribution: the response is six random words, so only memorisation separates members.</summary>
    public static List<AlpacaRecord> Records(int count, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count)
            .Select(i => new AlpacaRecord("Note", $"case {random.Next(1000)}", string.Join(' ', Enumerable.Range(0, 6).Select(_ => Words[random.Next(Words.Length)])) + "."))
            .ToList();
    }

    public static void SaveBase(string folder, long seed = 3)
    {
        using var model = new GptNeoXForCausalLM(Config);
        model.InitializeRandom(seed);
        HuggingFaceModelWriter.Save(model, folder);
    }

    /// <summary>Loads the base from <paramref name="baseFolder"/>, trains LoRA on <paramref name="members"/> and saves the PEFT adapter.</summary>
    public static void TrainAdapter(string baseFolder, IReadOnlyList<AlpacaRecord> members, string adapterFolder, int steps, double learningRate = 3e-3)
    {
        using var model = HuggingFaceModelLoader.Load(baseFolder);
        var config = new LoraAdapterConfig
        {
            R = 16,
            LoraAlpha = 32,
            TargetModules = ["query_key_value", "dense", "dense_h_to_4h", "dense_4h_to_h"],
        };
        LoraInjector.Apply(model, config, seed: 5);
        var tokenizer = new ByteTokenizer();
        var examples = new AlpacaExampleTokenizer(tokenizer, ShortTemplate, Tokenization).TokenizeAll(members);
        var trainer = TestTrainers.Create(
            model,
            TestTrainers.Recipe(steps, learningRate) with { LrSchedulerType = LrSchedulerType.Constant, LoggingSteps = 1000 },
            new CausalLmBatchCollator(tokenizer.PadTokenId));
        trainer.Train(examples);
        PeftAdapterFolder.Save(adapterFolder, LoraAdapterExchange.Export(model, config));
    }

    public static string NewFolder()
    {
        var path = Path.Combine(Path.GetTempPath(), "fedtune-privacy-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        return path;
    }
}
