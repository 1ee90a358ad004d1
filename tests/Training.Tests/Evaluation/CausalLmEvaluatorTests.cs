using FedTune.TestSupport;
using FedTune.Core.Configuration;
using FedTune.Training.Data;
using FedTune.Training.Evaluation;
using FedTune.Training.Tests.Trainer;
using FedTune.Training.Trainer;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FedTune.Training.Tests.Evaluation;

public sealed class CausalLmEvaluatorTests
{
    private static TinyCausalLm TrainedAdapterModel()
    {
        var model = new TinyCausalLm(dropout: 0);
        using (torch.no_grad())
        {
            model.AdapterParameters.Values.Last().add_(0.2);
        }

        return model;
    }

    [Fact]
    public void Evaluate_is_independent_of_batch_size_and_padding_side()
    {
        using var model = TrainedAdapterModel();
        var examples = TrainingFixtures.Examples(7);

        var one = new CausalLmEvaluator(model, padTokenId: 0, batchSize: 1).Evaluate(examples);
        var left = new CausalLmEvaluator(model, 0, batchSize: 3, PaddingSide.Left).Evaluate(examples);
        var right = new CausalLmEvaluator(model, 0, batchSize: 4, PaddingSide.Right).Evaluate(examples);

        Assert.Equal(examples.Sum(e => e.ScoredTokenCount), one.Tokens);
        Assert.Equal(one.MeanNll, left.MeanNll, 5);
        Assert.Equal(one.MeanNll, right.MeanNll, 5);
        Assert.Equal(Math.Exp(one.MeanNll), one.Perplexity, 9);
    }

    [Fact]
    public void ScoreRecords_sums_to_the_dataset_nll_and_keeps_record_order()
    {
        using var model = TrainedAdapterModel();
        var examples = TrainingFixtures.Examples(5);
        var evaluator = new CausalLmEvaluator(model, 0, batchSize: 2);

        var records = evaluator.ScoreRecords(examples, includeDistributionStatistics: true);
        var overall = evaluator.Evaluate(examples);

        Assert.Equal(examples.Select(e => e.ScoredTokenCount), records.Select(r => r.TokenCount));
        Assert.Equal(overall.MeanNll, records.Sum(r => r.SumNll) / records.Sum(r => r.TokenCount), 4);
        Assert.All(records, r =>
        {
            Assert.Equal(r.TokenCount, r.TokenLogProbs.Length);
            Assert.Equal(r.SumNll, -r.TokenLogProbs.Sum(v => (double)v), 4);
            Assert.All(r.TokenLogProbs, v => Assert.True(v <= 0));
            Assert.All(r.ExpectedLogProbs!, mu => Assert.InRange(mu, -Math.Log(model.VocabularySize) - 1e-4, 0));
            Assert.All(r.LogProbVariances!, v => Assert.True(v >= 0));
        });
    }

    [Fact]
    public void ScoreRecords_distribution_statistics_match_a_direct_computation_for_one_position()
    {
        using var model = TrainedAdapterModel();
        var example = TrainingFixtures.Examples(1)[0];
        var scores = new CausalLmEvaluator(model, 0).ScoreRecords([example], includeDistributionStatistics: true)[0];

        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var ids = torch.tensor(example.InputIds.Select(i => (long)i).ToArray(), [1, example.InputIds.Length]);
        var logProbs = model.Forward(ids, null).log_softmax(-1)[0, -2].to_type(ScalarType.Float64);
        var p = logProbs.exp();
        var mu = (p * logProbs).sum().item<double>();
        var variance = (p * (logProbs - mu).square()).sum().item<double>();

        Assert.Equal(mu, scores.ExpectedLogProbs![^1], 4);
        Assert.Equal(variance, scores.LogProbVariances![^1], 3);
        Assert.Equal(logProbs[example.InputIds[^1]].item<double>(), scores.TokenLogProbs[^1], 4);
    }

    [Fact]
    public void Training_lowers_the_evaluated_nll_of_the_training_data()
    {
        using var model = new TinyCausalLm();
        var examples = TrainingFixtures.Examples(6);
        var evaluator = new CausalLmEvaluator(model, 0);
        var before = evaluator.Evaluate(examples);

        TestTrainers.Create(model, TestTrainers.Recipe(15, 0.05, batchSize: 3) with { LoggingSteps = 5 },
            new CausalLmBatchCollator(0)).Train(examples);
        var after = evaluator.Evaluate(examples);

        Assert.True(after.MeanNll < before.MeanNll - 0.1, $"mean NLL went from {before.MeanNll} to {after.MeanNll}");
    }

    [Fact]
    public void EvaluationResult_serialises_to_the_cli_json_shape()
    {
        var json = new EvaluationResult(12, 2.5, Math.Exp(2.5)).ToJson(indented: false);

        Assert.Equal("{\"tokens\":12,\"mean_nll\":2.5,\"perplexity\":12.182493960703473}", json);
    }
}
