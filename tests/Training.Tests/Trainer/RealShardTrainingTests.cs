using FedTune.Core.Configuration;
using FedTune.TestSupport;
using FedTune.Core.Adapters;
using FedTune.Core.Data;
using FedTune.Training.Data;
using FedTune.Training.Evaluation;
using FedTune.Training.Lora;
using FedTune.Training.Modeling;
using FedTune.Training.Trainer;
using Xunit;
using Xunit.Abstractions;

namespace FedTune.Training.Tests.Trainer;

public sealed class RealShardTrainingTests(ITestOutputHelper output)
{
    [RealMedicalDataFact]
    public void LoRA_training_on_a_real_hospital_shard_lowers_its_held_out_perplexity()
    {
        var records = new AlpacaDatasetReader().ReadAll(TestPaths.MedicalMeadowFile!);
        var split = MedicalDataSplitter.Split(records, new MedicalSplitOptions { HospitalCount = 2, Partitioning = HospitalPartitioning.ByTopic, Seed = 1 });
        var hospital = split.Hospitals[0];
        var tokenizer = new AlpacaExampleTokenizer(new ByteTokenizer(), options: new TokenizationOptions { SeqLength = 96 });
        var train = tokenizer.TokenizeAll(hospital.Train.Take(96));
        var heldOut = tokenizer.TokenizeAll(hospital.HeldOut.Take(24));

        using var model = new GptNeoXForCausalLM(new GptNeoXConfig
        {
            VocabSize = 260, HiddenSize = 64, NumHiddenLayers = 2, NumAttentionHeads = 4, IntermediateSize = 128, MaxPositionEmbeddings = 128,
        });
        model.InitializeRandom(3);
        LoraInjector.Apply(model, new LoraAdapterConfig { R = 8, LoraAlpha = 16, TargetModules = ["query_key_value", "embed_out"] }, seed: 3);
        var evaluator = new CausalLmEvaluator(model, padTokenId: 0, batchSize: 8);
        var before = evaluator.Evaluate(heldOut);

        var result = TestTrainers.Create(model, TestTrainers.Recipe(40, 3e-3) with
        {
            LrSchedulerType = LrSchedulerType.Cosine, WarmupRatio = 0.05, LoggingSteps = 10,
        }, new CausalLmBatchCollator(0)).Train(train);
        var after = evaluator.Evaluate(heldOut);

        output.WriteLine($"held-out perplexity {before.Perplexity:F2} → {after.Perplexity:F2} ({before.Tokens} tokens); train loss {result.History[0].Loss:F3} → {result.FinalStepLoss:F3}; {result.TokensPerSecond:F0} tokens/s");
        Assert.True(after.Perplexity < before.Perplexity * 0.8, $"held-out perplexity went from {before.Perplexity} to {after.Perplexity}");
    }
}
