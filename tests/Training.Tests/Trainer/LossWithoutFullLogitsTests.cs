using FedTune.Core.Adapters;
using FedTune.Core.Configuration;
using FedTune.TestSupport;
using FedTune.Training.Data;
using FedTune.Training.Evaluation;
using FedTune.Training.Lora;
using FedTune.Training.Modeling;
using FedTune.Training.Tests.Modeling;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace FedTune.Training.Tests.Trainer;

/// <summary>The trainer and the evaluator score a batch through the model's loss, never through its full logits.</summary>
public sealed class LossWithoutFullLogitsTests
{
    [Fact]
    public void Training_and_evaluation_never_ask_the_model_for_full_logits()
    {
        using var inner = ModelTestSupport.TinyModel(seed: 6);
        LoraInjector.Apply(inner, new LoraAdapterConfig { R = 4, LoraAlpha = 8 }, seed: 1);
        inner.GradientCheckpointing = true;
        using var model = new NoFullLogits(inner);
        var examples = TrainingFixtures.Examples(4).Select(e => new TokenizedExample(
            e.InputIds.Select(id => id % (int)inner.VocabularySize).ToArray(),
            e.Labels.Select(l => l == TokenizedExample.IgnoreIndex ? l : l % (int)inner.VocabularySize).ToArray())).ToList();

        var result = TestTrainers.Create(model, TestTrainers.Recipe(2, 0.01, batchSize: 2), new CausalLmBatchCollator(0)).Train(examples);
        var evaluation = new CausalLmEvaluator(model, 0, 2).Evaluate(examples);

        Assert.True(double.IsFinite(result.MeanLoss) && result.MeanLoss > 0);
        Assert.True(double.IsFinite(evaluation.MeanNll) && evaluation.MeanNll > 0);
    }

    /// <summary>The real model, except that asking for the [batch, time, vocabulary] logits fails.</summary>
    private sealed class NoFullLogits(GptNeoXForCausalLM model) : ICausalLanguageModel
    {
        public long VocabularySize => model.VocabularySize;

        public long MaxSequenceLength => model.MaxSequenceLength;

        public IReadOnlyDictionary<string, Parameter> AdapterParameters => model.AdapterParameters;

        public Device Device => model.Device;

        public Tensor Forward(Tensor inputIds, Tensor? attentionMask) =>
            throw new InvalidOperationException("The full logits were asked for.");

        public Tensor SumNll(Tensor inputIds, Tensor? attentionMask, Tensor labels) => model.SumNll(inputIds, attentionMask, labels);

        public Tensor LogitsAt(Tensor inputIds, Tensor? attentionMask, Tensor positions) => model.LogitsAt(inputIds, attentionMask, positions);

        public void SetTraining(bool training) => model.SetTraining(training);

        public void Dispose()
        {
        }
    }
}
