using FedTune.Core.Configuration;
using FedTune.TestSupport;
using FedTune.Training.Data;
using FedTune.Training.Trainer;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FedTune.Training.Tests.Trainer;

public sealed class CausalLmTrainerTests : IDisposable
{
    private readonly string _work = Directory.CreateTempSubdirectory("fedtune-trainer-").FullName;

    public void Dispose() => Directory.Delete(_work, recursive: true);

    private static readonly CausalLmBatchCollator LeftPadding = new(padTokenId: 0);

    private static TrainingRecipe Options(int maxSteps) => TestTrainers.Recipe(maxSteps, 0.02, batchSize: 2) with
    {
        GradientAccumulationSteps = 2,
        LrSchedulerType = LrSchedulerType.Cosine,
        WarmupSteps = 1,
        SaveSteps = 2,
        WeightDecay = 0.01,
    };

    [Fact]
    public void Train_lowers_the_loss_on_repeated_data()
    {
        using var model = new TinyCausalLm();
        var examples = TrainingFixtures.Examples(8);

        var result = TestTrainers.Create(model, Options(20) with { LearningRate = 0.05, LrSchedulerType = LrSchedulerType.Constant }, LeftPadding)
            .Train(examples);

        Assert.Equal(20, result.History.Count);
        Assert.True(result.History[^1].Loss < result.History[0].Loss * 0.95,
            $"loss went from {result.History[0].Loss} to {result.History[^1].Loss}");
        Assert.True(result.Tokens > 0);
    }

    [Fact]
    public void Train_is_deterministic_for_a_seed_on_cpu()
    {
        Dictionary<string, float[]> Run()
        {
            using var model = new TinyCausalLm();
            TestTrainers.Create(model, Options(6), LeftPadding).Train(TrainingFixtures.Examples(10));
            return model.AdapterSnapshot();
        }

        Assert.Equal(0, TrainingFixtures.MaxAbsDifference(Run(), Run()));
    }

    [Fact]
    public void Gradient_accumulation_of_two_micro_batches_equals_one_batch_of_both()
    {
        var examples = TrainingFixtures.Examples(8);
        using var accumulated = new TinyCausalLm(dropout: 0);
        using var single = new TinyCausalLm(dropout: 0);
        var options = Options(3) with { LrSchedulerType = LrSchedulerType.Constant, WarmupSteps = 0 };

        TestTrainers.Create(accumulated, options with { BatchSize = 2, GradientAccumulationSteps = 2 }, LeftPadding).Train(examples);
        TestTrainers.Create(single, options with { BatchSize = 4, GradientAccumulationSteps = 1 }, LeftPadding).Train(examples);

        Assert.True(TrainingFixtures.MaxAbsDifference(accumulated.AdapterSnapshot(), single.AdapterSnapshot()) < 1e-5);
    }

    [Fact]
    public void Train_resumed_after_an_interruption_gives_the_same_adapter_as_an_uninterrupted_run()
    {
        var examples = TrainingFixtures.Examples(10);
        using var uninterrupted = new TinyCausalLm();
        TestTrainers.Create(uninterrupted, Options(8), LeftPadding).Train(examples);

        var work = Path.Combine(_work, "resume");
        using (var first = new TinyCausalLm())
        using (var stop = new CancellationTokenSource())
        {
            var progress = new SynchronousProgress(entry =>
            {
                if (entry.Step == 4)
                {
                    stop.Cancel();
                }
            });
            Assert.Throws<OperationCanceledException>(() =>
                TestTrainers.Create(first, Options(8), LeftPadding, work).Train(examples, progress, stop.Token));
        }

        using var resumedModel = new TinyCausalLm();
        using (torch.no_grad())
        {
            foreach (var parameter in resumedModel.AdapterParameters.Values)
            {
                parameter.add_(1.0);
            }
        }

        var resumed = TestTrainers.Create(resumedModel, Options(8), LeftPadding, work).Train(examples);

        Assert.Equal(4, resumed.ResumedFromStep);
        Assert.Equal(8, resumed.History.Count);
        var difference = TrainingFixtures.MaxAbsDifference(uninterrupted.AdapterSnapshot(), resumedModel.AdapterSnapshot());
        Assert.True(difference < 1e-6, $"resumed adapter differs by {difference}");
    }

    [Fact]
    public void Checkpoints_rotate_to_save_total_limit_and_leave_no_temporary_folders()
    {
        using var model = new TinyCausalLm();

        TestTrainers.Create(model, Options(5) with { SaveSteps = 1, SaveTotalLimit = 2 }, LeftPadding, _work).Train(TrainingFixtures.Examples(6));

        Assert.Equal(["checkpoint-4", "checkpoint-5"], Directory.GetDirectories(_work).Select(d => Path.GetFileName(d)!).Order().ToArray());
    }

    [Fact]
    public void Train_refuses_a_checkpoint_from_a_different_run_naming_the_folder()
    {
        using var model = new TinyCausalLm();
        TestTrainers.Create(model, Options(2), LeftPadding, _work).Train(TrainingFixtures.Examples(6));

        var error = Assert.Throws<InvalidOperationException>(() =>
            TestTrainers.Create(model, Options(3), LeftPadding, _work).Train(TrainingFixtures.Examples(6)));

        Assert.Contains("different run", error.Message, StringComparison.Ordinal);
        Assert.Contains(_work, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FedProx_keeps_the_adapter_closer_to_the_global_weights()
    {
        var examples = TrainingFixtures.Examples(8);
        double DistanceAfterTraining(double mu)
        {
            using var model = new TinyCausalLm(dropout: 0);
            using var global = AdapterSnapshot.Of(model);
            var options = Options(10) with { ProximalMu = mu, LrSchedulerType = LrSchedulerType.Constant, MaxGradNorm = 0 };
            var result = TestTrainers.Create(model, options, LeftPadding, globalAdapter: global.Tensors).Train(examples);
            if (mu > 0)
            {
                Assert.Contains(result.History, h => h.ProximalTerm > 0);
            }

            return global.SquaredDistanceTo(model);
        }

        var plain = DistanceAfterTraining(0);
        var proximal = DistanceAfterTraining(50);

        Assert.True(proximal < plain * 0.8, $"FedProx distance {proximal} is not below plain training's {plain}");
    }

    [Fact]
    public void Train_rejects_examples_longer_than_the_model_accepts_naming_seq_length()
    {
        using var model = new TinyCausalLm();
        var tooLong = new TokenizedExample(new int[5000], new int[5000]);

        var error = Assert.Throws<ArgumentException>(() => TestTrainers.Create(model, Options(1), LeftPadding).Train([tooLong]));

        Assert.Contains("seq_length", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FedProx_without_global_weights_is_rejected_clearly()
    {
        using var model = new TinyCausalLm();

        var error = Assert.Throws<ArgumentException>(() => TestTrainers.Create(model, Options(1) with { ProximalMu = 0.1 }, LeftPadding));

        Assert.Contains("globalAdapter", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Training_steps_run_with_the_heap_keeping_each_steps_memory_for_the_next_and_give_it_back_after()
    {
        using var model = new TinyCausalLm();
        var during = new List<int>();
        int before = FedTune.Core.Processes.NativeHeap.ActiveTrainingRuns;
        long stepsBefore = FedTune.Core.Processes.NativeHeap.TrainingStepsReported;

        TestTrainers.Create(model, Options(3) with { LoggingSteps = 1 }, LeftPadding)
            .Train(TrainingFixtures.Examples(8), new SynchronousProgress(_ => during.Add(FedTune.Core.Processes.NativeHeap.ActiveTrainingRuns)));

        Assert.Equal(3, during.Count);
        Assert.All(during, active => Assert.Equal(before + 1, active));
        Assert.Equal(before, FedTune.Core.Processes.NativeHeap.ActiveTrainingRuns);
        // ... and each step lets the heap trim itself when its free blocks have grown (NativeHeap.AfterTrainingStep).
        Assert.Equal(stepsBefore + 3, FedTune.Core.Processes.NativeHeap.TrainingStepsReported);
    }

    [Fact]
    public void Live_tensor_count_stays_flat_over_many_steps()
    {
        using var model = new TinyCausalLm();
        var examples = TrainingFixtures.Examples(16);
        var counts = new List<long>();
        var workingSets = new List<long>();
        var progress = new SynchronousProgress(_ =>
        {
            counts.Add(Tensor.TotalCount);
            workingSets.Add(Environment.WorkingSet / 1048576);
        });
        var steps = int.TryParse(Environment.GetEnvironmentVariable("FEDTUNE_MEMORY_TEST_STEPS"), out var s) ? s : 200;

        var before = Tensor.TotalCount;
        var result = TestTrainers.Create(model, Options(steps) with { LoggingSteps = 10 }, LeftPadding).Train(examples, progress);
        var after = Tensor.TotalCount;

        Console.WriteLine($"live tensors over {steps} steps: before {before}, first log {counts[0]}, last log {counts[^1]}, max {counts.Max()}, after {after}; " +
                          $"working set {workingSets[0]} MiB at the first log, {workingSets[^1]} MiB at the last; {result.TokensPerSecond:F0} tokens/s");
        Assert.True(counts[^1] <= counts[0], $"live tensors grew from {counts[0]} to {counts[^1]} over {steps} steps");
        Assert.True(after <= before, $"training left {after - before} tensors alive");
    }

    /// <summary>IProgress that reports on the training thread (Progress&lt;T&gt; posts to the thread pool).</summary>
    private sealed class SynchronousProgress(Action<TrainingLogEntry> report) : IProgress<TrainingLogEntry>
    {
        public void Report(TrainingLogEntry value) => report(value);
    }
}
