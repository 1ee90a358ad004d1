using System.Diagnostics;
using FedTune.ClientAgent.Configuration;
using FedTune.ClientAgent.Execution;
using FedTune.Core.Adapters;
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
/// The training engine behind the agent: loads the base model (GPT-NeoX, HF layout) and its tokenizer, attaches the
/// global LoRA adapter (round 1: the run's round-0 adapter; with freeze_a only its B matrices train), trains with the task's hyperparameters on the train
/// split (Hugging Face Trainer semantics, FedProx when mu &gt; 0, checkpoints in the task's work folder), evaluates on
/// the held-out split and writes the trained adapter in the wire format.
/// </summary>
public sealed partial class TorchRoundTrainer(IOptions<AgentOptions> options, Func<string, ITextTokenizer> tokenizerLoader,
    ILogger<TorchRoundTrainer> logger) : IRoundTrainer
{
    public RoundTrainingOutcome Train(RoundTrainingRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var settings = options.Value;
        var task = request.Task;
        var hp = task.Hyperparameters;
        CheckModelName(settings, task);
        var global = ReadGlobalAdapter(request.GlobalAdapterFile);
        var device = ResolveDevice(settings.Device);
        using var model = LoadModel(settings.ModelPath, device);
        var tokenizer = LoadTokenizer(settings.ModelPath);
        var config = global.Config;
        AttachAdapter(model, global, hp.FreezeA);

        var watch = Stopwatch.StartNew();
        var seqLength = (int)Math.Min(hp.MaxSequenceLength, model.MaxSequenceLength);
        var examples = new AlpacaExampleTokenizer(tokenizer, options: new TokenizationOptions { SeqLength = seqLength });
        var train = examples.TokenizeAll(request.Data.Train);
        var trainerOptions = new TrainerOptions
        {
            LearningRate = hp.LearningRate,
            PerDeviceTrainBatchSize = hp.BatchSize,
            GradientAccumulationSteps = hp.GradientAccumulationSteps,
            MaxSteps = StepsFor(hp, train.Count),
            // The round's rate already follows the federation's cosine schedule; within a round it is constant (FlowerTune).
            LrSchedulerType = LearningRateSchedulerType.Constant,
            WeightDecay = hp.WeightDecay,
            MaxGradNorm = hp.MaxGradNorm,
            LoggingSteps = settings.Training.LoggingSteps,
            SaveSteps = settings.Training.SaveSteps,
            SaveTotalLimit = settings.Training.SaveTotalLimit,
            Seed = (int)(task.Seed & int.MaxValue),
            ProximalMu = hp.ProximalMu,
        };

        var proximalAnchor = hp.ProximalMu > 0 ? SnapshotAdapter(model) : null;
        TrainingResult result;
        try
        {
            var trainer = new CausalLmTrainer(model, trainerOptions, new CausalLmBatchCollator(tokenizer.PadTokenId), request.CheckpointFolder, proximalAnchor);
            var checkpoints = new TrainerCheckpointStore(request.CheckpointFolder);
            var progress = new SynchronousProgress(entry =>
            {
                request.Progress?.StepCompleted(entry.Step, trainerOptions.MaxSteps, entry.Loss);
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
        LogTrained(logger, result.Steps, result.ResumedFromStep, train.Count, result.MeanLoss, result.TokensPerSecond, device.type);
        var trained = LoraAdapterExchange.Export(model, config);
        TaskWorkFolder.WriteAtomic(request.OutputAdapterFile, AdapterWireFormat.ToBytes(trained));

        watch.Restart();
        EvaluationResult? evaluation = null;
        var heldOut = request.Data.HeldOut.Take(settings.Data.MaxEvalExamples).ToList();
        if (heldOut.Count > 0)
        {
            request.Progress?.EvaluationStarted();
            var evaluator = new CausalLmEvaluator(model, tokenizer.PadTokenId, settings.Training.EvalBatchSize);
            evaluation = evaluator.Evaluate(examples.TokenizeAll(heldOut), cancellationToken);
        }

        var metrics = new UpdateMetrics
        {
            TrainLoss = result.MeanLoss,
            StepsDone = result.Steps,
            HeldOutNll = evaluation?.MeanNll,
            HeldOutTokens = evaluation?.Tokens ?? 0,
            HeldOutExamples = heldOut.Count,
        };
        return new RoundTrainingOutcome(train.Count, metrics, trainSeconds, watch.Elapsed.TotalSeconds);
    }

    /// <summary>max_steps, or with max_steps -1 the optimizer steps of num_train_epochs over the training split (HF's rule).</summary>
    public static int StepsFor(TrainingHyperparameters hp, int trainExamples)
    {
        ArgumentNullException.ThrowIfNull(hp);
        if (hp.MaxSteps > 0) return hp.MaxSteps;
        int batchesPerEpoch = (trainExamples + hp.BatchSize - 1) / Math.Max(1, hp.BatchSize);
        int stepsPerEpoch = Math.Max(1, batchesPerEpoch / Math.Max(1, hp.GradientAccumulationSteps));
        return Math.Max(1, (int)Math.Ceiling(hp.NumTrainEpochs * stepsPerEpoch));
    }

    private static void CheckModelName(AgentOptions settings, RoundTask task)
    {
        var names = ModelIdentity.NamesOf(settings.ModelPath, settings.ModelName);
        if (!ModelIdentity.Matches(task.BaseModel, names))
        {
            throw new TaskFailedException(FailureReasons.ModelMismatch,
                $"The run trains base model '{task.BaseModel}' but this agent's model folder holds '{string.Join("' / '", names)}'. " +
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

    private static GptNeoXForCausalLM LoadModel(string folder, Device device)
    {
        try
        {
            return HuggingFaceModelLoader.Load(folder, device);
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

    [LoggerMessage(Level = LogLevel.Information, Message = "Trained {Steps} steps (resumed from step {ResumedFromStep}) on {Examples} examples: mean loss {MeanLoss:F4}, {TokensPerSecond:F0} tokens/s on {Device}")]
    private static partial void LogTrained(ILogger logger, int steps, int resumedFromStep, int examples, double meanLoss, double tokensPerSecond, DeviceType device);
}
