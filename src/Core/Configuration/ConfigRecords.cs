namespace FedTune.Core.Configuration;

/// <summary>The whole validated configuration.</summary>
public sealed record FedTuneConfig
{
    public required DatasetConfig Dataset { get; init; }

    public required ModelConfig Model { get; init; }

    public required TrainConfig Train { get; init; }

    public required FederationConfig Federation { get; init; }

    /// <summary>The file it was read from, when read from a file.</summary>
    public string? SourcePath { get; init; }
}

/// <summary><c>dataset:</c> the instruction dataset (hub id or local path).</summary>
public sealed record DatasetConfig
{
    public required string Name { get; init; }
}

/// <summary><c>model:</c> base model and how it is loaded.</summary>
public sealed record ModelConfig
{
    /// <summary>Hub id (e.g. EleutherAI/pythia-70m) or local folder.</summary>
    public required string Name { get; init; }

    /// <summary>null (full precision), 4 (NF4, bitsandbytes load_in_4bit) or 8 (load_in_8bit).</summary>
    public int? Quantization { get; init; }

    public bool GradientCheckpointing { get; init; } = ConfigDefaults.GradientCheckpointing;

    public bool UseFastTokenizer { get; init; } = ConfigDefaults.UseFastTokenizer;

    public required LoraConfig Lora { get; init; }
}

/// <summary><c>model.lora:</c> (or top-level <c>lora:</c>) PEFT LoraConfig values, FlowerTune key names.</summary>
public sealed record LoraConfig
{
    /// <summary><c>peft_lora_r</c>: rank.</summary>
    public int R { get; init; } = ConfigDefaults.LoraR;

    /// <summary><c>peft_lora_alpha</c>: the update is scaled by alpha / r.</summary>
    public double Alpha { get; init; } = ConfigDefaults.LoraAlpha;

    /// <summary><c>target_modules</c>: null means the architecture default (query_key_value for GPT-NeoX).</summary>
    public IReadOnlyList<string>? TargetModules { get; init; }

    /// <summary><c>peft_lora_dropout</c>: dropout probability on the LoRA input path (PEFT's lora_dropout).</summary>
    public double Dropout { get; init; } = ConfigDefaults.LoraDropout;

    /// <summary><c>freeze_a</c>: A is fixed and shared by all clients; only B is trained and averaged (exact FedAvg).</summary>
    public bool FreezeA { get; init; } = ConfigDefaults.FreezeA;
}

/// <summary>Which side sequences are padded on.</summary>
public enum PaddingSide
{
    Left,
    Right,
}

/// <summary><c>train:</c> FlowerTune's per-client training settings.</summary>
public sealed record TrainConfig
{
    /// <summary><c>save_every_round</c>: the server saves the global adapter every N rounds.</summary>
    public int SaveEveryRound { get; init; } = ConfigDefaults.SaveEveryRound;

    /// <summary><c>seq_length</c>: maximum tokens per training example.</summary>
    public int SeqLength { get; init; } = ConfigDefaults.SeqLength;

    public PaddingSide PaddingSide { get; init; } = ConfigDefaults.Padding;

    /// <summary><c>learning_rate_max</c> (FlowerTune): start of the per-round cosine schedule; null when not used.</summary>
    public double? LearningRateMax { get; init; }

    /// <summary><c>learning_rate_min</c> (FlowerTune): end of the per-round cosine schedule.</summary>
    public double? LearningRateMin { get; init; }

    public required TrainingArguments TrainingArguments { get; init; }

    /// <summary>
    /// The learning rate a client uses in <paramref name="round"/> (1-based): FlowerTune's cosine annealing
    /// between learning_rate_max and learning_rate_min when both are set, else training_arguments.learning_rate.
    /// </summary>
    public double LearningRateForRound(int round, int totalRounds) =>
        LearningRateMax is { } max && LearningRateMin is { } min
            ? FederatedLearningRate.ForRound(round, totalRounds, max, min)
            : TrainingArguments.LearningRate ?? ConfigDefaults.LearningRate;
}

/// <summary>HF Trainer learning-rate schedules supported by the trainer.</summary>
public enum LrSchedulerType
{
    Linear,
    Cosine,
    Constant,
    ConstantWithWarmup,
}

/// <summary><c>train.training_arguments:</c> keys with HF <c>TrainingArguments</c> meanings.</summary>
public sealed record TrainingArguments
{
    public string? OutputDir { get; init; }

    /// <summary>Peak AdamW learning rate; null when FlowerTune's per-round schedule supplies it.</summary>
    public double? LearningRate { get; init; } = ConfigDefaults.LearningRate;

    public int PerDeviceTrainBatchSize { get; init; } = ConfigDefaults.PerDeviceTrainBatchSize;

    public int GradientAccumulationSteps { get; init; } = ConfigDefaults.GradientAccumulationSteps;

    public int LoggingSteps { get; init; } = ConfigDefaults.LoggingSteps;

    /// <summary>Optimizer steps per round; -1 trains for <see cref="NumTrainEpochs"/> instead.</summary>
    public int MaxSteps { get; init; } = ConfigDefaults.MaxSteps;

    public double NumTrainEpochs { get; init; } = ConfigDefaults.NumTrainEpochs;

    /// <summary>Reporting integrations; empty (null in YAML) reports to none.</summary>
    public IReadOnlyList<string> ReportTo { get; init; } = [];

    public int SaveSteps { get; init; } = ConfigDefaults.SaveSteps;

    /// <summary>Keep at most this many checkpoints; null keeps all.</summary>
    public int? SaveTotalLimit { get; init; }

    public bool GradientCheckpointing { get; init; } = ConfigDefaults.GradientCheckpointing;

    public LrSchedulerType LrSchedulerType { get; init; } = ConfigDefaults.LrScheduler;

    public int WarmupSteps { get; init; } = ConfigDefaults.WarmupSteps;

    public double WarmupRatio { get; init; } = ConfigDefaults.WarmupRatio;

    public double WeightDecay { get; init; } = ConfigDefaults.WeightDecay;

    /// <summary>Gradient clipping norm; 0 disables clipping.</summary>
    public double MaxGradNorm { get; init; } = ConfigDefaults.MaxGradNorm;

    public double AdamBeta1 { get; init; } = ConfigDefaults.AdamBeta1;

    public double AdamBeta2 { get; init; } = ConfigDefaults.AdamBeta2;

    public double AdamEpsilon { get; init; } = ConfigDefaults.AdamEpsilon;

    public int Seed { get; init; } = ConfigDefaults.Seed;
}
