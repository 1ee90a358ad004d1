using System.Diagnostics;
using FedTune.Core.Configuration;
using FedTune.Training.Data;
using FedTune.Training.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace FedTune.Training.Trainer;

/// <summary>
/// Trains a model's LoRA adapter with Hugging Face Trainer semantics:
/// <list type="bullet">
/// <item>each optimizer step runs <c>gradient_accumulation_steps</c> micro-batches of <c>per_device_train_batch_size</c>;
/// the loss is the sum of token NLLs of all micro-batches divided by the step's total scored-token count (HF's
/// <c>num_items_in_batch</c> averaging), so the result equals one big batch;</item>
/// <item><c>max_steps</c> counts optimizer steps; the HF schedule (<see cref="LearningRateSchedule"/>) scales
/// <see cref="TrainerRun.LearningRate"/> (the round's rate) over those steps;</item>
/// <item>gradients are clipped to <c>max_grad_norm</c>, then <see cref="AdamWOptimizer"/> with explicit weight decay steps;</item>
/// <item>FedProx adds <c>mu/2·Σ‖w − w_global‖²</c> over the adapter parameters once per optimizer step;</item>
/// <item>with record-level DP (<see cref="TrainingRecipe.RecordPrivacy"/>) each optimizer step is a DP-SGD step instead
/// (<see cref="DpSgdStep"/>): a Poisson sample of the records, each record's gradient clipped, Gaussian noise added, then
/// AdamW. <c>max_grad_norm</c> is not applied on top (clipping the noised gradient again is post-processing: it costs no
/// privacy but gains nothing either), and FedProx is refused with it (<see cref="TrainingRecipe.Validate"/>);</item>
/// <item>with a work folder, checkpoints every <c>save_steps</c> and at the end; <see cref="Train"/> resumes from the
/// latest checkpoint there (adapter, AdamW moments, RNG, step; the data order is a pure function of the step).</item>
/// </list>
/// Every step runs inside its own <c>torch.NewDisposeScope()</c> on the calling thread.
/// </summary>
public sealed class CausalLmTrainer
{
    private readonly ICausalLanguageModel _model;
    private readonly TrainingRecipe _recipe;
    private readonly TrainerRun _run;
    private readonly CausalLmBatchCollator _collator;
    private readonly TrainerCheckpointStore? _checkpoints;
    private readonly IReadOnlyDictionary<string, Tensor>? _globalAdapter;

    /// <param name="model">The model whose <see cref="ICausalLanguageModel.AdapterParameters"/> are trained.</param>
    /// <param name="recipe">The training recipe (batch, accumulation, schedule, optimizer, clipping, FedProx, cadence).</param>
    /// <param name="run">The round's starting rate, steps and seed.</param>
    /// <param name="collator">Padding (side and pad id).</param>
    /// <param name="workDirectory">Where checkpoints go and are resumed from; null for no checkpoints.</param>
    /// <param name="globalAdapter">The round's global adapter for FedProx (same names as the adapter); required when ProximalMu &gt; 0.</param>
    public CausalLmTrainer(
        ICausalLanguageModel model,
        TrainingRecipe recipe,
        TrainerRun run,
        CausalLmBatchCollator collator,
        string? workDirectory = null,
        IReadOnlyDictionary<string, Tensor>? globalAdapter = null)
    {
        _model = model ?? throw new ArgumentNullException(nameof(model));
        _recipe = (recipe ?? throw new ArgumentNullException(nameof(recipe))).Validate();
        _run = run ?? throw new ArgumentNullException(nameof(run));
        _run.Validate();
        _collator = collator ?? throw new ArgumentNullException(nameof(collator));
        _checkpoints = workDirectory is null ? null : new TrainerCheckpointStore(workDirectory);
        if (_recipe.ProximalMu > 0 && globalAdapter is null)
        {
            throw new ArgumentException("ProximalMu > 0 (FedProx) needs the round's global adapter weights: pass globalAdapter.");
        }

        _globalAdapter = globalAdapter;
    }

    public TrainingResult Train(
        IReadOnlyList<TokenizedExample> examples,
        IProgress<TrainingLogEntry>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(examples);
        var parameters = _model.AdapterParameters.OrderBy(p => p.Key, StringComparer.Ordinal).ToList();
        if (parameters.Count == 0)
        {
            throw new InvalidOperationException("The model has no adapter parameters to train: attach LoRA adapters first.");
        }

        var longest = examples.Count == 0 ? 0 : examples.Max(e => e.InputIds.Length);
        if (longest > _model.MaxSequenceLength)
        {
            throw new ArgumentException(
                $"An example has {longest} tokens but the model accepts at most {_model.MaxSequenceLength} positions: lower seq_length to {_model.MaxSequenceLength} or less.");
        }

        var order = new MicroBatchOrder(examples.Count, _recipe.BatchSize, _run.Seed);
        var dp = _recipe.RecordPrivacy is { } privacy
            ? new DpSgdStep(privacy, _recipe.BatchSize * _recipe.GradientAccumulationSteps, examples.Count)
            : null;
        var warmup = LearningRateSchedule.WarmupSteps(_run.MaxSteps, _recipe.WarmupSteps, _recipe.WarmupRatio);
        using var optimizer = new AdamWOptimizer(parameters, _recipe.AdamBeta1, _recipe.AdamBeta2, _recipe.AdamEpsilon, _recipe.WeightDecay);
        using var global = GlobalAdapterOnDevice(parameters);

        var state = Resume(parameters, optimizer, examples.Count) ?? NewState(examples.Count);
        var resumedFrom = state.Step;
        var history = new List<TrainingLogEntry>(state.History);
        var lossSum = state.LossSum;
        var lastLoss = state.LastStepLoss;
        long tokens = 0;
        double intervalLoss = 0;
        int intervalSteps = 0;
        var stopwatch = Stopwatch.StartNew();

        // Each step reuses the memory the step before freed instead of faulting in fresh pages (NativeHeap).
        using var heap = FedTune.Core.Processes.NativeHeap.ForTraining();
        _model.SetTraining(true);
        try
        {
            for (int step = state.Step; step < _run.MaxSteps; step++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var learningRate = _run.LearningRate
                                   * LearningRateSchedule.Multiplier(_recipe.LrSchedulerType, step, warmup, _run.MaxSteps);
                var outcome = dp is null
                    ? RunStep(step, order, examples, parameters, optimizer, global, learningRate)
                    : RunDpStep(dp, examples, parameters, optimizer, learningRate);
                tokens += outcome.Tokens;
                lossSum += outcome.Loss;
                FedTune.Core.Processes.NativeHeap.AfterTrainingStep();
                lastLoss = outcome.Loss;
                intervalLoss += outcome.Loss;
                intervalSteps++;

                var done = step + 1;
                if (done % _recipe.LoggingSteps == 0 || done == _run.MaxSteps)
                {
                    var entry = new TrainingLogEntry(done, intervalLoss / intervalSteps, learningRate, tokens, outcome.GradNorm, outcome.Proximal)
                    {
                        SampledRecords = outcome.SampledRecords,
                    };
                    history.Add(entry);
                    progress?.Report(entry);
                    intervalLoss = 0;
                    intervalSteps = 0;
                }

                if (_checkpoints is not null && ((_recipe.SaveSteps > 0 && done % _recipe.SaveSteps == 0) || done == _run.MaxSteps))
                {
                    SaveCheckpoint(parameters, optimizer, state with
                    {
                        Step = done,
                        OptimizerStepCount = optimizer.StepCount,
                        LossSum = lossSum,
                        LastStepLoss = lastLoss,
                        History = history.ToList(),
                    });
                }
            }
        }
        finally
        {
            _model.SetTraining(false);
        }

        stopwatch.Stop();
        var stepsRun = _run.MaxSteps - resumedFrom;
        return new TrainingResult(
            _run.MaxSteps,
            resumedFrom,
            lossSum / _run.MaxSteps,
            lastLoss,
            tokens,
            stopwatch.Elapsed,
            stepsRun > 0 ? tokens / Math.Max(1e-9, stopwatch.Elapsed.TotalSeconds) : 0,
            history)
        {
            RecordPrivacy = dp?.Privacy,
        };
    }

    private readonly record struct StepOutcome(double Loss, long Tokens, double GradNorm, double Proximal, int? SampledRecords = null);

    /// <summary>One DP-SGD step: Poisson sample, per-record clipping, noise, AdamW (no max_grad_norm, no FedProx).</summary>
    private StepOutcome RunDpStep(
        DpSgdStep dp,
        IReadOnlyList<TokenizedExample> examples,
        List<KeyValuePair<string, TorchSharp.Modules.Parameter>> parameters,
        AdamWOptimizer optimizer,
        double learningRate)
    {
        using var scope = torch.NewDisposeScope();
        var sample = dp.DrawSample();
        var clipped = dp.ClipAndSum(_model, parameters, examples, sample, _collator);
        var gradNorm = dp.SetNoisyGradients(parameters, clipped);
        optimizer.Step(learningRate);
        return new StepOutcome(clipped.MeanLoss, clipped.Tokens, gradNorm, 0, sample.Length);
    }

    private StepOutcome RunStep(
        int step,
        MicroBatchOrder order,
        IReadOnlyList<TokenizedExample> examples,
        List<KeyValuePair<string, TorchSharp.Modules.Parameter>> parameters,
        AdamWOptimizer optimizer,
        GlobalAdapter? global,
        double learningRate)
    {
        using var scope = torch.NewDisposeScope();
        var accumulation = _recipe.GradientAccumulationSteps;
        var microBatches = new List<TokenizedExample[]>(accumulation);
        long scoredTokens = 0;
        for (int m = 0; m < accumulation; m++)
        {
            var indices = order.Batch((long)step * accumulation + m);
            var batch = new TokenizedExample[indices.Length];
            for (int i = 0; i < indices.Length; i++)
            {
                batch[i] = examples[indices[i]];
                scoredTokens += batch[i].ScoredTokenCount;
            }

            microBatches.Add(batch);
        }

        optimizer.ZeroGrad();
        double nllSum = 0;
        long tokens = 0;
        var denominator = Math.Max(1, scoredTokens);
        foreach (var examplesOfBatch in microBatches)
        {
            using var microScope = torch.NewDisposeScope();
            using var batch = _collator.Collate(examplesOfBatch, _model.Device);
            var sum = _model.SumNll(batch.InputIds, batch.AttentionMask, batch.Labels);
            (sum / denominator).backward();
            nllSum += sum.item<float>();
            tokens += batch.RealTokens;
        }

        double proximal = 0;
        if (global is not null && _recipe.ProximalMu > 0)
        {
            var term = global.ProximalTerm(parameters) * (_recipe.ProximalMu / 2);
            term.backward();
            proximal = term.item<float>();
        }

        double gradNorm = _recipe.MaxGradNorm > 0
            ? torch.nn.utils.clip_grad_norm_(parameters.Select(p => p.Value), _recipe.MaxGradNorm)
            : GradNorm(parameters);
        optimizer.Step(learningRate);
        return new StepOutcome(nllSum / denominator, tokens, gradNorm, proximal);
    }

    private static double GradNorm(List<KeyValuePair<string, TorchSharp.Modules.Parameter>> parameters)
    {
        double squares = 0;
        foreach (var (_, parameter) in parameters)
        {
            if (parameter.grad is { } grad)
            {
                squares += grad.pow(2).sum().item<float>();
            }
        }

        return Math.Sqrt(squares);
    }

    private TrainerCheckpointState NewState(int exampleCount)
    {
        torch.random.manual_seed(_run.Seed);
        return new TrainerCheckpointState
        {
            MaxSteps = _run.MaxSteps,
            Seed = _run.Seed,
            ExampleCount = exampleCount,
            BatchSize = _recipe.BatchSize,
            GradientAccumulationSteps = _recipe.GradientAccumulationSteps,
        };
    }

    private TrainerCheckpointState? Resume(List<KeyValuePair<string, TorchSharp.Modules.Parameter>> parameters, AdamWOptimizer optimizer, int exampleCount)
    {
        using var checkpoint = _checkpoints?.LoadLatest();
        if (checkpoint is null)
        {
            return null;
        }

        var saved = checkpoint.State;
        if (saved.MaxSteps != _run.MaxSteps || saved.Seed != _run.Seed || saved.ExampleCount != exampleCount
            || saved.BatchSize != _recipe.BatchSize || saved.GradientAccumulationSteps != _recipe.GradientAccumulationSteps)
        {
            throw new InvalidOperationException(
                $"The checkpoint '{checkpoint.Path}' belongs to a different run (max_steps {saved.MaxSteps}, seed {saved.Seed}, " +
                $"{saved.ExampleCount} examples, batch {saved.BatchSize}×{saved.GradientAccumulationSteps}); this run has max_steps " +
                $"{_run.MaxSteps}, seed {_run.Seed}, {exampleCount} examples, batch {_recipe.BatchSize}×" +
                $"{_recipe.GradientAccumulationSteps}. Use a fresh work folder per run, or delete '{_checkpoints!.Directory}'.");
        }

        using (torch.no_grad())
        {
            foreach (var (name, parameter) in parameters)
            {
                if (!checkpoint.Adapter.TryGetValue(name, out var value) || !value.shape.SequenceEqual(parameter.shape))
                {
                    throw new InvalidOperationException(
                        $"The checkpoint '{checkpoint.Path}' has no adapter tensor '{name}' of shape [{string.Join(", ", parameter.shape)}]: " +
                        "it was written for another adapter configuration; delete the work folder to start fresh.");
                }

                parameter.copy_(value);
            }
        }

        optimizer.LoadState(checkpoint.Optimizer, saved.OptimizerStepCount);
        torch.random.set_rng_state(checkpoint.RngState);
        return saved;
    }

    private void SaveCheckpoint(List<KeyValuePair<string, TorchSharp.Modules.Parameter>> parameters, AdamWOptimizer optimizer, TrainerCheckpointState state)
    {
        using var scope = torch.NewDisposeScope();
        _checkpoints!.Save(
            state,
            parameters.Select(p => KeyValuePair.Create(p.Key, (Tensor)p.Value)),
            optimizer.StateTensors(),
            torch.random.get_rng_state(),
            _recipe.SaveTotalLimit);
    }

    private GlobalAdapter? GlobalAdapterOnDevice(List<KeyValuePair<string, TorchSharp.Modules.Parameter>> parameters) =>
        _globalAdapter is null ? null : new GlobalAdapter(_globalAdapter, parameters, _model.Device);

    /// <summary>Detached copies of the round's global adapter on the model's device, for the FedProx term.</summary>
    private sealed class GlobalAdapter : IDisposable
    {
        private readonly Dictionary<string, Tensor> _weights = new(StringComparer.Ordinal);

        public GlobalAdapter(
            IReadOnlyDictionary<string, Tensor> weights,
            List<KeyValuePair<string, TorchSharp.Modules.Parameter>> parameters,
            Device device)
        {
            foreach (var (name, parameter) in parameters)
            {
                if (!weights.TryGetValue(name, out var weight) || !weight.shape.SequenceEqual(parameter.shape))
                {
                    throw new ArgumentException(
                        $"The global adapter for FedProx has no tensor '{name}' of shape [{string.Join(", ", parameter.shape)}]: " +
                        "pass the round's global adapter with the model's adapter names.");
                }

                _weights[name] = weight.detach().to(parameter.dtype, device).clone().DetachFromDisposeScope();
            }
        }

        public Tensor ProximalTerm(List<KeyValuePair<string, TorchSharp.Modules.Parameter>> parameters)
        {
            Tensor? total = null;
            foreach (var (name, parameter) in parameters)
            {
                var squared = (parameter - _weights[name]).pow(2).sum();
                total = total is null ? squared : total + squared;
            }

            return total!;
        }

        public void Dispose()
        {
            foreach (var tensor in _weights.Values)
            {
                tensor.Dispose();
            }
        }
    }
}
