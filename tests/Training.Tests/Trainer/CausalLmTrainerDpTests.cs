using FedTune.Core.Configuration;
using FedTune.TestSupport;
using FedTune.Training.Data;
using FedTune.Training.Evaluation;
using FedTune.Training.Trainer;
using TorchSharp;
using Xunit;

namespace FedTune.Training.Tests.Trainer;

/// <summary>The trainer with train.differential_privacy: every optimizer step is a DP-SGD step.</summary>
public sealed class CausalLmTrainerDpTests : IDisposable
{
    private readonly string _work = Directory.CreateTempSubdirectory("fedtune-dp-trainer-").FullName;

    public void Dispose() => Directory.Delete(_work, recursive: true);

    private static readonly CausalLmBatchCollator LeftPadding = new(padTokenId: 0);

    private static TrainingRecipe Recipe(int maxSteps, double noiseMultiplier = 0.5, double clipNorm = 1.0) =>
        TestTrainers.Recipe(maxSteps, 0.05, batchSize: 2) with
        {
            GradientAccumulationSteps = 2,
            LrSchedulerType = LrSchedulerType.Constant,
            SaveSteps = 2,
            RecordPrivacy = new RecordPrivacyConfig { ClipNorm = clipNorm, NoiseMultiplier = noiseMultiplier },
        };

    [Fact]
    public void Two_runs_from_the_same_start_and_seed_differ_because_sample_and_noise_are_secret()
    {
        Dictionary<string, float[]> Run()
        {
            using var model = new TinyCausalLm(dropout: 0);
            TestTrainers.Create(model, Recipe(3), LeftPadding).Train(TrainingFixtures.Examples(8));
            return model.AdapterSnapshot();
        }

        var difference = TrainingFixtures.MaxAbsDifference(Run(), Run());

        Assert.True(difference > 1e-4, $"two DP runs with one seed ended {difference} apart: the sample or the noise is replayable");
    }

    [Fact]
    public void A_DP_run_with_small_noise_still_lowers_the_loss_and_reports_each_steps_sample()
    {
        using var model = new TinyCausalLm(dropout: 0);
        var examples = TrainingFixtures.Examples(16);
        var evaluator = new CausalLmEvaluator(model, padTokenId: 0);
        var before = evaluator.Evaluate(examples).MeanNll;

        var result = TestTrainers.Create(model, Recipe(60, noiseMultiplier: 0.3), LeftPadding).Train(examples);

        var after = evaluator.Evaluate(examples).MeanNll;
        Assert.True(after < before * 0.95, $"the DP run's loss on its records went from {before} to {after}");
        Assert.All(result.History, h => Assert.NotNull(h.SampledRecords));
        Assert.InRange(result.History.Average(h => h.SampledRecords!.Value), 2.0, 6.0);
    }

    [Fact]
    public void A_resumed_DP_run_continues_from_its_checkpoint_step()
    {
        var examples = TrainingFixtures.Examples(10);
        using (var first = new TinyCausalLm())
        using (var stop = new CancellationTokenSource())
        {
            var progress = new SynchronousProgress(entry =>
            {
                if (entry.Step == 4) stop.Cancel();
            });
            Assert.Throws<OperationCanceledException>(() =>
                TestTrainers.Create(first, Recipe(8), LeftPadding, _work).Train(examples, progress, stop.Token));
        }

        using var model = new TinyCausalLm();
        var resumed = TestTrainers.Create(model, Recipe(8), LeftPadding, _work).Train(examples);

        Assert.Equal(4, resumed.ResumedFromStep);
        Assert.Equal(Enumerable.Range(1, 8), resumed.History.Select(h => h.Step));
    }

    [Fact]
    public void Live_tensor_count_stays_flat_over_DP_steps()
    {
        using var model = new TinyCausalLm();
        var examples = TrainingFixtures.Examples(16);
        var counts = new List<long>();
        var progress = new SynchronousProgress(_ => counts.Add(torch.Tensor.TotalCount));

        var before = torch.Tensor.TotalCount;
        TestTrainers.Create(model, Recipe(60) with { LoggingSteps = 10 }, LeftPadding).Train(examples, progress);
        var after = torch.Tensor.TotalCount;

        Assert.True(counts[^1] <= counts[0], $"live tensors grew from {counts[0]} to {counts[^1]} over 60 DP steps");
        Assert.True(after <= before, $"DP training left {after - before} tensors alive");
    }

    [Fact]
    public void Record_level_DP_with_FedProx_is_refused_naming_both()
    {
        using var model = new TinyCausalLm();

        var error = Assert.Throws<ArgumentException>(() => TestTrainers.Create(model, Recipe(1) with { ProximalMu = 0.1 }, LeftPadding));

        Assert.Contains("differential_privacy", error.Message, StringComparison.Ordinal);
        Assert.Contains("proximal_mu", error.Message, StringComparison.Ordinal);
    }

    /// <summary>IProgress that reports on the training thread (Progress&lt;T&gt; posts to the thread pool).</summary>
    private sealed class SynchronousProgress(Action<TrainingLogEntry> report) : IProgress<TrainingLogEntry>
    {
        public void Report(TrainingLogEntry value) => report(value);
    }
}
