using System.Diagnostics;
using FedTune.ClientAgent.Configuration;
using FedTune.ClientAgent.Execution;
using FedTune.Core.Adapters;
using FedTune.Core.Configuration;
using FedTune.Core.Privacy;
using FedTune.Core.Protocol;
using FedTune.Training.Data;
using FedTune.Training.Evaluation;
using FedTune.Training.Lora;
using FedTune.Training.Modeling;
using FedTune.Training.Trainer;
using FedTune.ClientAgent.Work;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TorchSharp;
using static TorchSharp.torch;

namespace FedTune.ClientAgent.Engine;

/// <summary>
/// The training engine behind the agent: applies the task's <see cref="TrainingRecipe"/> end to end. It takes the base
/// model (GPT-NeoX, HF layout) held as the recipe's quantization says from the <see cref="BaseModelCache"/> (loaded once
/// per run while the agent keeps it, else for every task), sets gradient checkpointing as the recipe says, attaches
/// the global LoRA adapter (round 1: the run's round-0 adapter; with freeze_a A stays frozen and only B trains), tokenizes at seq_length, pads on
/// the recipe's side, trains with its batch, accumulation, steps, schedule, optimizer, clipping, FedProx mu and
/// logging/save cadence (Hugging Face Trainer semantics, checkpoints in the task's work folder), evaluates on the
/// held-out split, writes the trained adapter in the wire format and reports what it ran (<see cref="TrainingAsRun"/>).
/// </summary>
public sealed partial class TorchRoundTrainer(IOptions<AgentOptions> options, Func<string, ITextTokenizer> tokenizerLoader,
    BaseModelCache models, ILogger<TorchRoundTrainer> logger) : IRoundTrainer
{
    /// <summary>A trainer that loads the base model for every task (one-off training outside the agent's host).</summary>
    public TorchRoundTrainer(IOptions<AgentOptions> options, Func<string, ITextTokenizer> tokenizerLoader, ILogger<TorchRoundTrainer> logger)
        : this(options, tokenizerLoader, BaseModelCache.Disabled(logger), logger)
    {
    }

    public RoundTrainingOutcome Train(RoundTrainingRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var settings = options.Value;
        var task = request.Task;
        var recipe = ValidRecipe(task);
        CheckModelName(settings, task);
        var global = ReadGlobalAdapter(request.GlobalAdapterFile);
        var device = ResolveDevice(settings.Device);
        var key = BaseModelKey.For(task.RunId, settings.ModelPath, recipe.Quantization, device);
        var taken = models.Take(key, () => Load(key, settings.ModelPath, device));
        bool completed = false;
        try
        {
            var outcome = Train(request, recipe, global, taken, device, cancellationToken);
            completed = true;
            return outcome;
        }
        finally
        {
            models.Return(taken, completed);
        }
    }

    private RoundTrainingOutcome Train(RoundTrainingRequest request, TrainingRecipe recipe, LoraAdapter global, TakenBaseModel taken,
        Device device, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var task = request.Task;
        var model = taken.Model.Model;
        var tokenizer = taken.Model.Tokenizer;
        model.GradientCheckpointing = recipe.GradientCheckpointing;
        long checkpointedBefore = model.Backbone.Checkpointing.BlockPasses;
        long reusedBefore = model.Backbone.Checkpointing.ReusedProjectionOutputs;
        var config = global.Config;
        AttachAdapter(model, global, recipe.Lora.FreezeA);

        var watch = Stopwatch.StartNew();
        var examples = new AlpacaExampleTokenizer(tokenizer, options: TokenizationOptions.For(recipe, model.MaxSequenceLength));
        var train = examples.TokenizeAll(request.Data.Train);
        var run = TrainerRun.For(recipe, task.LearningRate, train.Count, task.Seed);
        var collator = new CausalLmBatchCollator(tokenizer.PadTokenId, recipe.PaddingSide);
        var proximalAnchor = recipe.ProximalMu > 0 ? SnapshotAdapter(model) : null;
        TrainingResult result;
        try
        {
            var trainer = new CausalLmTrainer(model, recipe, run, collator, request.CheckpointFolder, proximalAnchor);
            var checkpoints = new TrainerCheckpointStore(request.CheckpointFolder);
            var progress = new SynchronousProgress(entry =>
            {
                request.Progress?.StepCompleted(entry.Step, run.MaxSteps, entry.Loss);
                if (checkpoints.List().Count > 0) request.Progress?.CheckpointSaved(entry.Step);
            });
            result = trainer.Train(train, progress, cancellationToken);
        }
        finally
        {
            if (proximalAnchor is not null)
            {
                foreach (var tensor in proximalAnchor.Values) tensor.Dispose();
            }
        }

        double trainSeconds = watch.Elapsed.TotalSeconds;
        var privacy = result.RecordPrivacy;
        LogTrained(logger, result.Steps, result.ResumedFromStep, train.Count, result.MeanLoss, result.TokensPerSecond, device.type);
        var ran = AsRun(recipe, run, config, model, collator, result, device) with
        {
            RecordPrivacy = privacy,
            CheckpointedBlockPasses = model.Backbone.Checkpointing.BlockPasses - checkpointedBefore,
            ReusedProjectionOutputs = model.Backbone.Checkpointing.ReusedProjectionOutputs - reusedBefore,
            BaseModelLoads = taken.LoadsThisRun,
        };
        var trained = LoraAdapterExchange.Export(model, config);
        TaskWorkFolder.WriteAtomic(request.OutputAdapterFile, AdapterWireFormat.ToBytes(trained));

        watch.Restart();
        EvaluationResult? evaluation = null;
        var heldOut = recipe.EvaluatesInRound(task.Round, task.TotalRounds)
            ? request.Data.HeldOut.Take(Math.Min(settings.Data.MaxEvalExamples, recipe.EvalMaxExamples ?? int.MaxValue)).ToList()
            : [];
        if (heldOut.Count > 0)
        {
            request.Progress?.EvaluationStarted();
            var evaluator = new CausalLmEvaluator(model, tokenizer.PadTokenId, settings.Evaluation.BatchSize);
            evaluation = evaluator.Evaluate(examples.TokenizeAll(heldOut), cancellationToken);
        }

        var metrics = new UpdateMetrics
        {
            TrainLoss = result.MeanLoss,
            StepsDone = result.Steps,
            HeldOutNll = evaluation?.MeanNll,
            HeldOutTokens = evaluation?.Tokens ?? 0,
            HeldOutExamples = heldOut.Count,
            RecordEpsilon = privacy is null ? null : RecordEpsilonSoFar(privacy, recipe, task.Round, run.MaxSteps, train.Count),
        };
        return new RoundTrainingOutcome(train.Count, metrics, trainSeconds, watch.Elapsed.TotalSeconds, ran with { EvalExamples = heldOut.Count },
            taken.Loaded, taken.LoadSeconds);
    }

    /// <summary>
    /// The ε this hospital has spent on its records after <paramref name="round"/> rounds of <paramref name="stepsPerRound"/>
    /// DP-SGD steps each at q = expected batch / its training records: an upper bound, since a round it skipped spent nothing.
    /// </summary>
    internal static double RecordEpsilonSoFar(RecordPrivacyConfig privacy, TrainingRecipe recipe, int round, int stepsPerRound, int trainRecords)
    {
        var q = RecordPrivacyLedger.SamplingRate(recipe.BatchSize * recipe.GradientAccumulationSteps, trainRecords);
        return RecordPrivacyLedger.Epsilon(privacy, q, (long)Math.Max(1, round) * stepsPerRound);
    }

    /// <summary>Loads the base model and its tokenizer for <paramref name="key"/> (what the cache keeps).</summary>
    private LoadedBaseModel Load(BaseModelKey key, string folder, Device device)
    {
        var model = LoadModel(folder, device, key.Quantization);
        try
        {
            var loaded = new LoadedBaseModel(key, model, LoadTokenizer(folder));
            LogLoaded(logger, key.RunId, key.Quantization, device.type);
            return loaded;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>The recipe as this round ran it: each value read back from the model, the adapter and the trainer.</summary>
    private static TrainingAsRun AsRun(TrainingRecipe recipe, TrainerRun run, LoraAdapterConfig adapter, GptNeoXForCausalLM model,
        CausalLmBatchCollator collator, TrainingResult result, Device device)
    {
        using var process = Process.GetCurrentProcess();
        return new TrainingAsRun
        {
            Quantization = model.Quantization,
            BaseModelBytes = model.BaseModelBytes(),
            GradientCheckpointing = model.GradientCheckpointing,
            PaddingSide = collator.PaddingSide,
            SeqLength = (int)Math.Min(recipe.SeqLength, model.MaxSequenceLength),
            BatchSize = recipe.BatchSize,
            GradientAccumulationSteps = recipe.GradientAccumulationSteps,
            Steps = result.Steps,
            LearningRate = run.LearningRate,
            LrSchedulerType = recipe.LrSchedulerType,
            LoraRank = adapter.R,
            LoraAlpha = adapter.LoraAlpha,
            LoraDropout = adapter.LoraDropout,
            FreezeA = recipe.Lora.FreezeA,
            ProximalMu = recipe.ProximalMu,
            LoggingSteps = recipe.LoggingSteps,
            SaveSteps = recipe.SaveSteps,
            SaveTotalLimit = recipe.SaveTotalLimit,
            EvalEveryRounds = recipe.EvalEveryRounds,
            TrainTokens = result.Tokens,
            PeakMemoryBytes = process.PeakWorkingSet64,
            Device = device.type == DeviceType.CUDA ? "cuda" : "cpu",
        };
    }

    private static TrainingRecipe ValidRecipe(RoundTask task)
    {
        try
        {
            return (task.Recipe ?? throw new ArgumentException("The task carries no training recipe.")).Validate();
        }
        catch (ArgumentException e)
        {
            throw new TaskFailedException("task_invalid",
                $"The round task's recipe cannot be trained: {e.Message} Fix: correct the run's configuration and start the run again.", null, e);
        }
    }

    private static void CheckModelName(AgentOptions settings, RoundTask task)
    {
        var names = ModelIdentity.NamesOf(settings.ModelPath, settings.ModelName);
        if (!ModelIdentity.Matches(task.Recipe.BaseModel, names))
        {
            throw new TaskFailedException(FailureReasons.ModelMismatch,
                $"The run trains base model '{task.Recipe.BaseModel}' but this agent's model folder holds '{string.Join("' / '", names)}'. " +
                "Fix: point ModelPath at that model (or set ModelName if the folder holds it under another name).");
        }
    }

    private static LoraAdapter ReadGlobalAdapter(string file)
    {
        try
        {
            using var stream = File.OpenRead(file);
            return AdapterWireFormat.Read(stream, "the global adapter");
        }
        catch (Exception e) when (e is AdapterFormatException or Core.Formats.SafetensorsFormatException or InvalidDataException)
        {
            throw new TaskFailedException("global_adapter_invalid",
                $"The global adapter matches its SHA-256 but is not a valid FedTune adapter: {e.Message}", null, e);
        }
    }

    private static GptNeoXForCausalLM LoadModel(string folder, Device device, BaseQuantization quantization)
    {
        try
        {
            return HuggingFaceModelLoader.Load(folder, device, quantization: quantization);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException or ArgumentException)
        {
            throw new TaskFailedException(FailureReasons.ModelMismatch,
                $"The model folder '{Path.GetFileName(Path.TrimEndingDirectorySeparator(folder))}' cannot be loaded as a GPT-NeoX model: {e.Message} " +
                "Fix: point ModelPath at a complete Hugging Face model folder of the run's base model.", null, e);
        }
    }

    private ITextTokenizer LoadTokenizer(string folder)
    {
        try
        {
            return tokenizerLoader(folder);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException or ArgumentException or System.Text.Json.JsonException)
        {
            throw new TaskFailedException(FailureReasons.ModelMismatch,
                $"The model folder's tokenizer cannot be loaded: {e.Message} Fix: the folder needs the model's tokenizer.json.", null, e);
        }
    }

    private static void AttachAdapter(GptNeoXForCausalLM model, LoraAdapter global, bool freezeA)
    {
        try
        {
            LoraAdapterExchange.Attach(model, global, freezeA);
        }
        catch (Exception e) when (e is InvalidDataException or ArgumentException or NotSupportedException)
        {
            throw new TaskFailedException(FailureReasons.ModelMismatch,
                $"The run's adapter does not fit this agent's base model: {e.Message} Fix: point ModelPath at the run's base model.", null, e);
        }
    }

    private static Dictionary<string, Tensor> SnapshotAdapter(GptNeoXForCausalLM model)
    {
        var snapshot = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, parameter) in model.AdapterParameters)
        {
            snapshot[name] = parameter.detach().clone().DetachFromDisposeScope();
        }

        return snapshot;
    }

    private static Device ResolveDevice(DeviceChoice choice) => choice switch
    {
        DeviceChoice.Cpu => CPU,
        DeviceChoice.Cuda => cuda.is_available()
            ? CUDA
            : throw new TaskFailedException(FailureReasons.TrainingError,
                "Device is 'cuda' but TorchSharp sees no CUDA GPU on this machine. Fix: install the CUDA runtime package or set Device to auto/cpu."),
        _ => cuda.is_available() ? CUDA : CPU,
    };

    /// <summary>Reports on the training thread (Progress&lt;T&gt; would post to the thread pool, too late for a pause point).</summary>
    private sealed class SynchronousProgress(Action<TrainingLogEntry> report) : IProgress<TrainingLogEntry>
    {
        public void Report(TrainingLogEntry value) => report(value);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Loaded the base model for run {RunId} ({Quantization} on {Device})")]
    private static partial void LogLoaded(ILogger logger, string runId, BaseQuantization quantization, DeviceType device);

    [LoggerMessage(Level = LogLevel.Information, Message = "Trained {Steps} steps (resumed from step {ResumedFromStep}) on {Examples} examples: mean loss {MeanLoss:F4}, {TokensPerSecond:F0} tokens/s on {Device}")]
    private static partial void LogTrained(ILogger logger, int steps, int resumedFromStep, int examples, double meanLoss, double tokensPerSecond, DeviceType device);
}
