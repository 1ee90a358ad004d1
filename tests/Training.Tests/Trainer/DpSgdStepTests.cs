using FedTune.Core.Configuration;
using FedTune.Training.Data;
using FedTune.Training.Trainer;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FedTune.Training.Tests.Trainer;

/// <summary>The three parts of a record-level DP-SGD step, each checked on its own: sample, clip and sum, noise.</summary>
public sealed class DpSgdStepTests
{
    private static readonly CausalLmBatchCollator LeftPadding = new(padTokenId: 0);

    private static RecordPrivacyConfig Privacy(double clipNorm, double noiseMultiplier = 1.0) =>
        new() { ClipNorm = clipNorm, NoiseMultiplier = noiseMultiplier };

    private static List<KeyValuePair<string, TorchSharp.Modules.Parameter>> Parameters(TinyCausalLm model) =>
        model.AdapterParameters.OrderBy(p => p.Key, StringComparer.Ordinal).ToList();

    private static double Norm(IEnumerable<Tensor> tensors) =>
        Math.Sqrt(tensors.Sum(t => t.pow(2).sum().to_type(ScalarType.Float64).item<double>()));

    /// <summary>A model whose adapter has non-zero A and B, so every adapter tensor has a gradient.</summary>
    private static TinyCausalLm ModelWithNonZeroB()
    {
        var model = new TinyCausalLm(dropout: 0);
        using var noGrad = torch.no_grad();
        model.AdapterParameters["base_model.model.tiny.lora_B.weight"].fill_(0.05);
        return model;
    }

    [Fact]
    public void Each_sampled_record_adds_at_most_the_clip_norm_to_the_sum()
    {
        using var model = ModelWithNonZeroB();
        using var scope = torch.NewDisposeScope();
        var examples = TrainingFixtures.Examples(8);
        var parameters = Parameters(model);
        const double clip = 1e-3;
        var dp = new DpSgdStep(Privacy(clip), expectedBatch: 4, recordCount: examples.Count);

        var one = dp.ClipAndSum(model, parameters, examples, [3], LeftPadding);
        var all = dp.ClipAndSum(model, parameters, examples, [0, 1, 2, 3, 4, 5, 6, 7], LeftPadding);

        Assert.All(all.RecordNorms, n => Assert.True(n > 100 * clip, $"a record's gradient norm {n} is not far above the clip norm, so clipping was not exercised"));
        Assert.Equal(clip, Norm(one.Sums.Values), 1e-6);
        Assert.True(Norm(all.Sums.Values) <= (clip * 8) + 1e-9, $"8 clipped records sum to norm {Norm(all.Sums.Values)} > 8·C");
        Assert.Equal(8, all.ScoredRecords);
        Assert.All(parameters, p => Assert.Equal(0, p.Value.grad!.abs().sum().item<float>()));
    }

    [Fact]
    public void Under_a_large_clip_norm_the_sum_is_the_sum_of_each_records_mean_token_loss_gradient()
    {
        using var model = ModelWithNonZeroB();
        using var scope = torch.NewDisposeScope();
        var examples = TrainingFixtures.Examples(6);
        var parameters = Parameters(model);
        var dp = new DpSgdStep(Privacy(1e6), expectedBatch: 2, recordCount: examples.Count);
        int[] sample = [1, 4];

        var clipped = dp.ClipAndSum(model, parameters, examples, sample, LeftPadding);

        var expected = parameters.ToDictionary(p => p.Key, p => torch.zeros_like(p.Value));
        double expectedLoss = 0;
        foreach (var index in sample)
        {
            foreach (var (_, p) in parameters) p.grad?.zero_();
            using var batch = LeftPadding.Collate([examples[index]], model.Device);
            var loss = ((FedTune.Training.Modeling.ICausalLanguageModel)model).SumNll(batch.InputIds, batch.AttentionMask, batch.Labels) / examples[index].ScoredTokenCount;
            loss.backward();
            expectedLoss += loss.item<float>() / sample.Length;
            foreach (var (name, p) in parameters) expected[name].add_(p.grad!);
        }

        foreach (var (name, sum) in clipped.Sums)
        {
            var error = (sum - expected[name]).abs().max().item<float>();
            Assert.True(error < 1e-6, $"{name}: the clipped sum differs from the per-record gradients by {error}");
        }

        Assert.Equal(expectedLoss, clipped.MeanLoss, 5);
    }

    [Fact]
    public void The_noise_has_standard_deviation_z_times_C_over_the_expected_batch_even_for_an_empty_sample()
    {
        using var model = ModelWithNonZeroB();
        using var scope = torch.NewDisposeScope();
        var examples = TrainingFixtures.Examples(8);
        var parameters = Parameters(model);
        var dp = new DpSgdStep(Privacy(clipNorm: 0.5, noiseMultiplier: 2.0), expectedBatch: 4, recordCount: examples.Count);

        var empty = dp.ClipAndSum(model, parameters, examples, [], LeftPadding);
        var norm = dp.SetNoisyGradients(parameters, empty);

        var coordinates = torch.cat(parameters.Select(p => p.Value.grad!.reshape(-1)).ToList());
        var std = coordinates.std().item<float>();
        Assert.Equal(0, empty.MeanLoss);
        Assert.InRange(std, 0.25 * 0.75, 0.25 * 1.25);
        Assert.Equal(Norm([coordinates]), norm, 4);
    }

    [Fact]
    public void The_Poisson_sample_averages_q_times_the_records_and_is_not_replayable_from_the_seed()
    {
        var dp = new DpSgdStep(Privacy(1.0), expectedBatch: 10, recordCount: 100);
        torch.random.manual_seed(7);
        var first = dp.DrawSample();
        torch.random.manual_seed(7);
        var draws = Enumerable.Range(0, 200).Select(_ => dp.DrawSample()).ToList();

        Assert.Equal(0.1, dp.SamplingRate);
        Assert.InRange(draws.Average(d => d.Length), 9.0, 11.0);
        Assert.Contains(draws, d => d.Length != draws[0].Length);
        Assert.NotEqual(first, draws[0]);
        Assert.All(draws, d => Assert.True(d.Distinct().Count() == d.Length && d.All(i => i is >= 0 and < 100)));
    }
}
