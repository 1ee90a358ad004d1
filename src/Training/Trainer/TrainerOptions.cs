using FedTune.Core.Configuration;

namespace FedTune.Training.Trainer;

/// <summary>
/// Training arguments with Hugging Face <c>TrainingArguments</c> meanings and defaults, except <see cref="MaxSteps"/>
/// which must be given. <see cref="WeightDecay"/> defaults to 0.0 (HF's <c>weight_decay</c> default) and is always
/// passed explicitly to AdamW. <see cref="ProximalMu"/> &gt; 0 adds FedProx's <c>mu/2·‖w − w_global‖²</c>.
/// </summary>
public sealed record TrainerOptions
{
    public double LearningRate { get; init; } = 5e-5;

    public int PerDeviceTrainBatchSize { get; init; } = 8;

    public int GradientAccumulationSteps { get; init; } = 1;

    /// <summary>Optimizer steps to run (each is <see cref="GradientAccumulationSteps"/> micro-batches).</summary>
    public int MaxSteps { get; init; } = 10;

    public LearningRateSchedulerType LrSchedulerType { get; init; } = LearningRateSchedulerType.Linear;

    public int WarmupSteps { get; init; }

    public double WarmupRatio { get; init; }

    public double WeightDecay { get; init; }

    /// <summary>Gradient clipping by global L2 norm; 0 or less disables it.</summary>
    public double MaxGradNorm { get; init; } = 1.0;

    public double AdamBeta1 { get; init; } = 0.9;

    public double AdamBeta2 { get; init; } = 0.999;

    public double AdamEpsilon { get; init; } = 1e-8;

    public int LoggingSteps { get; init; } = 500;

    /// <summary>Checkpoint every this many optimizer steps (and at the end) when a work folder is given; 0 disables.</summary>
    public int SaveSteps { get; init; } = 500;

    /// <summary>Keep at most this many checkpoints (oldest removed first); null keeps all.</summary>
    public int? SaveTotalLimit { get; init; }

    public int Seed { get; init; } = 42;

    /// <summary>FedProx proximal weight; 0 is plain local training (FedAvg).</summary>
    public double ProximalMu { get; init; }

    /// <summary>
    /// The options for one round from the configuration's <c>train.training_arguments</c>. <paramref name="learningRate"/>
    /// is the round's rate (from <see cref="TrainConfig.LearningRateForRound"/>); <paramref name="exampleCount"/> is
    /// needed only when <c>max_steps</c> is -1 (then HF's rule: <c>ceil(num_train_epochs · max(1, ⌊batches/accum⌋))</c>);
    /// FedProx's mu is taken from <paramref name="strategy"/> when given.
    /// </summary>
    public static TrainerOptions FromConfig(TrainConfig train, double learningRate, int exampleCount, StrategyConfig? strategy = null)
    {
        ArgumentNullException.ThrowIfNull(train);
        var arguments = train.TrainingArguments;
        var maxSteps = arguments.MaxSteps;
        if (maxSteps <= 0)
        {
            var batches = (exampleCount + arguments.PerDeviceTrainBatchSize - 1) / arguments.PerDeviceTrainBatchSize;
            var updatesPerEpoch = Math.Max(1, batches / arguments.GradientAccumulationSteps);
            maxSteps = (int)Math.Ceiling(arguments.NumTrainEpochs * updatesPerEpoch);
        }

        var options = new TrainerOptions
        {
            LearningRate = learningRate,
            PerDeviceTrainBatchSize = arguments.PerDeviceTrainBatchSize,
            GradientAccumulationSteps = arguments.GradientAccumulationSteps,
            MaxSteps = maxSteps,
            LrSchedulerType = arguments.LrSchedulerType switch
            {
                Core.Configuration.LrSchedulerType.Linear => LearningRateSchedulerType.Linear,
                Core.Configuration.LrSchedulerType.Cosine => LearningRateSchedulerType.Cosine,
                Core.Configuration.LrSchedulerType.Constant => LearningRateSchedulerType.Constant,
                Core.Configuration.LrSchedulerType.ConstantWithWarmup => LearningRateSchedulerType.ConstantWithWarmup,
                _ => throw new ArgumentOutOfRangeException(nameof(train), arguments.LrSchedulerType, "Unknown lr_scheduler_type."),
            },
            WarmupSteps = arguments.WarmupSteps,
            WarmupRatio = arguments.WarmupRatio,
            WeightDecay = arguments.WeightDecay,
            MaxGradNorm = arguments.MaxGradNorm,
            AdamBeta1 = arguments.AdamBeta1,
            AdamBeta2 = arguments.AdamBeta2,
            AdamEpsilon = arguments.AdamEpsilon,
            LoggingSteps = Math.Max(1, arguments.LoggingSteps),
            SaveSteps = Math.Max(0, arguments.SaveSteps),
            SaveTotalLimit = arguments.SaveTotalLimit,
            Seed = arguments.Seed,
            ProximalMu = strategy?.ProximalMu ?? 0,
        };
        options.Validate();
        return options;
    }

    public void Validate()
    {
        Require(LearningRate >= 0 && double.IsFinite(LearningRate), nameof(LearningRate), LearningRate, "a finite number ≥ 0");
        Require(PerDeviceTrainBatchSize >= 1, nameof(PerDeviceTrainBatchSize), PerDeviceTrainBatchSize, "at least 1");
        Require(GradientAccumulationSteps >= 1, nameof(GradientAccumulationSteps), GradientAccumulationSteps, "at least 1");
        Require(MaxSteps >= 1, nameof(MaxSteps), MaxSteps, "at least 1");
        Require(WarmupSteps >= 0, nameof(WarmupSteps), WarmupSteps, "≥ 0");
        Require(WarmupRatio is >= 0 and <= 1, nameof(WarmupRatio), WarmupRatio, "in [0, 1]");
        Require(WeightDecay >= 0, nameof(WeightDecay), WeightDecay, "≥ 0");
        Require(AdamBeta1 is >= 0 and < 1, nameof(AdamBeta1), AdamBeta1, "in [0, 1)");
        Require(AdamBeta2 is >= 0 and < 1, nameof(AdamBeta2), AdamBeta2, "in [0, 1)");
        Require(AdamEpsilon > 0, nameof(AdamEpsilon), AdamEpsilon, "above 0");
        Require(LoggingSteps >= 1, nameof(LoggingSteps), LoggingSteps, "at least 1");
        Require(SaveSteps >= 0, nameof(SaveSteps), SaveSteps, "≥ 0");
        Require(SaveTotalLimit is null or >= 1, nameof(SaveTotalLimit), SaveTotalLimit ?? 0, "null or at least 1");
        Require(ProximalMu >= 0 && double.IsFinite(ProximalMu), nameof(ProximalMu), ProximalMu, "a finite number ≥ 0");
    }

    private static void Require(bool ok, string name, object value, string allowed)
    {
        if (!ok)
        {
            throw new ArgumentException($"Training argument {name} is {value}: it must be {allowed}.");
        }
    }
}
