using System.Text.Json.Serialization;

namespace FedTune.Core.Configuration;

/// <summary>
/// Everything that defines how a hospital trains, in one validated record: born in <see cref="FedTuneConfigLoader"/>
/// from <c>model:</c>, <c>model.lora:</c>, <c>train:</c> and <c>train.training_arguments:</c>, carried unchanged by every
/// round task, applied by the agent's trainer and echoed in its manifest. Keys keep their Hugging Face / PEFT /
/// FlowerTune meaning (docs/core.md lists each with its effect). Settings local to a hospital (paths, device,
/// credentials, threads) are not here: they are the agent's own.
/// </summary>
public sealed record TrainingRecipe
{
    /// <summary><c>model.name</c>: the base model's hub id (or folder) every hospital must hold.</summary>
    public required string BaseModel { get; init; }

    /// <summary><c>model.quantization</c>: how the frozen base Linear weights are held in memory.</summary>
    public BaseQuantization Quantization { get; init; } = BaseQuantization.None;

    /// <summary><c>model.gradient_checkpointing</c> or <c>training_arguments.gradient_checkpointing</c>: recompute each block in backward.</summary>
    public bool GradientCheckpointing { get; init; } = ConfigDefaults.GradientCheckpointing;

    /// <summary><c>model.lora</c>: rank, alpha, dropout, target modules, freeze-A.</summary>
    public LoraConfig Lora { get; init; } = new();

    /// <summary><c>train.seq_length</c>: maximum tokens per example (prompt + response + EOS).</summary>
    public int SeqLength { get; init; } = ConfigDefaults.SeqLength;

    /// <summary><c>train.padding_side</c>: which side a batch's shorter examples are padded on.</summary>
    public PaddingSide PaddingSide { get; init; } = ConfigDefaults.Padding;

    /// <summary>
    /// <c>train.wire_precision</c>: how adapters travel, both directions: the agent uploads its update and the
    /// orchestrator writes the global adapter in fp32, fp16 or int8 (absmax blocks of 64, stochastic rounding).
    /// </summary>
    public Compression.WirePrecision WirePrecision { get; init; } = Compression.WirePrecision.Fp32;

    /// <summary><c>per_device_train_batch_size</c>: examples per micro-batch.</summary>
    public int BatchSize { get; init; } = ConfigDefaults.PerDeviceTrainBatchSize;

    /// <summary><c>gradient_accumulation_steps</c>: micro-batches per optimizer step.</summary>
    public int GradientAccumulationSteps { get; init; } = ConfigDefaults.GradientAccumulationSteps;

    /// <summary><c>max_steps</c>: optimizer steps per round; -1 trains for <see cref="NumTrainEpochs"/> instead.</summary>
    public int MaxSteps { get; init; } = ConfigDefaults.MaxSteps;

    /// <summary><c>num_train_epochs</c>: epochs over the hospital's training split per round when max_steps is -1.</summary>
    public double NumTrainEpochs { get; init; } = ConfigDefaults.NumTrainEpochs;

    /// <summary>
    /// Peak AdamW learning rate: <c>train.learning_rate_max</c> when given (FlowerTune), else
    /// <c>training_arguments.learning_rate</c>. Round r starts from <see cref="LearningRateForRound"/>.
    /// </summary>
    public double LearningRate { get; init; } = ConfigDefaults.LearningRate;

    /// <summary>
    /// <c>train.learning_rate_min</c>: the end of FlowerTune's cosine across rounds; null keeps
    /// <see cref="LearningRate"/> for every round.
    /// </summary>
    public double? LearningRateMin { get; init; }

    /// <summary><c>lr_scheduler_type</c>: the schedule within a round, from the round's rate, as HF defines it.</summary>
    public LrSchedulerType LrSchedulerType { get; init; } = ConfigDefaults.LrScheduler;

    public int WarmupSteps { get; init; } = ConfigDefaults.WarmupSteps;

    public double WarmupRatio { get; init; } = ConfigDefaults.WarmupRatio;

    public double WeightDecay { get; init; } = ConfigDefaults.WeightDecay;

    /// <summary><c>max_grad_norm</c>: clip gradients to this global L2 norm; 0 disables clipping.</summary>
    public double MaxGradNorm { get; init; } = ConfigDefaults.MaxGradNorm;

    public double AdamBeta1 { get; init; } = ConfigDefaults.AdamBeta1;

    public double AdamBeta2 { get; init; } = ConfigDefaults.AdamBeta2;

    public double AdamEpsilon { get; init; } = ConfigDefaults.AdamEpsilon;

    /// <summary><c>federation.strategy.proximal_mu</c>: FedProx's μ/2·‖w − w_global‖² in each client's loss (0: none).</summary>
    public double ProximalMu { get; init; }

    /// <summary>
    /// <c>train.differential_privacy</c>: record-level DP-SGD at every hospital (per-record clipping, Poisson sampling,
    /// Gaussian noise); null trains without it. Each hospital reports the ε it has spent on its own records.
    /// </summary>
    public RecordPrivacyConfig? RecordPrivacy { get; init; }

    /// <summary><c>logging_steps</c>: the agent reports loss and progress every this many optimizer steps.</summary>
    public int LoggingSteps { get; init; } = ConfigDefaults.LoggingSteps;

    /// <summary><c>save_steps</c>: the agent checkpoints its trainer every this many steps (and at the end of a round).</summary>
    public int SaveSteps { get; init; } = ConfigDefaults.SaveSteps;

    /// <summary><c>save_total_limit</c>: trainer checkpoints kept per task (and global checkpoints kept by the server); null keeps all.</summary>
    public int? SaveTotalLimit { get; init; }

    /// <summary>
    /// <c>train.eval_every_rounds</c>: each hospital scores its trained adapter on its own held-out split every this
    /// many rounds (rounds k, 2k, ... and always the last round); 0 never. Evaluating costs an agent more than its
    /// training steps when the split is large, so a long run can evaluate less often.
    /// </summary>
    public int EvalEveryRounds { get; init; } = 1;

    /// <summary><c>train.eval_max_examples</c>: at most this many held-out records per evaluation (a fixed sample: the first n); null: the agent's own limit.</summary>
    public int? EvalMaxExamples { get; init; }

    /// <summary>Whether a hospital evaluates in round <paramref name="round"/> (1-based) of <paramref name="totalRounds"/>.</summary>
    public bool EvaluatesInRound(int round, int totalRounds) =>
        EvalEveryRounds > 0 && (round % EvalEveryRounds == 0 || round >= totalRounds);

    /// <summary>
    /// The learning rate round <paramref name="round"/> (1-based) of <paramref name="totalRounds"/> starts from:
    /// FlowerTune's cosine from <see cref="LearningRate"/> down to <see cref="LearningRateMin"/> when that is set,
    /// else <see cref="LearningRate"/>.
    /// </summary>
    public double LearningRateForRound(int round, int totalRounds) =>
        LearningRateMin is { } min ? FederatedLearningRate.ForRound(round, totalRounds, LearningRate, min) : LearningRate;

    /// <summary>Optimizer steps in a round: max_steps, or with -1 HF's rule <c>ceil(epochs · max(1, ⌊batches / accumulation⌋))</c>.</summary>
    public int StepsFor(int trainExamples)
    {
        if (MaxSteps > 0) return MaxSteps;
        int batches = (Math.Max(0, trainExamples) + BatchSize - 1) / BatchSize;
        int stepsPerEpoch = Math.Max(1, batches / GradientAccumulationSteps);
        return Math.Max(1, (int)Math.Ceiling(NumTrainEpochs * stepsPerEpoch));
    }

    /// <summary>Why record-level DP and FedProx are refused together, and the fix.</summary>
    public const string RecordPrivacyWithFedProx =
        "record-level DP and FedProx (federation.strategy.proximal_mu > 0) together are not supported; drop one of them.";

    /// <summary>Checks a recipe built in code (the loader's errors name the YAML line instead); an <see cref="ArgumentException"/> names the key.</summary>
    public TrainingRecipe Validate()
    {
        Require(!string.IsNullOrWhiteSpace(BaseModel), "model.name", BaseModel, "a hub id or folder");
        Require(Enum.IsDefined(Quantization), "model.quantization", Quantization, "none, 8 or 4 (NF4)");
        Require(Lora is not null, "model.lora", "null", "a LoRA section");
        Require(Lora!.R >= 1, "model.lora.peft_lora_r", Lora.R, "at least 1");
        Require(Lora.Alpha > 0 && double.IsFinite(Lora.Alpha), "model.lora.peft_lora_alpha", Lora.Alpha, "above 0");
        Require(Lora.Dropout is >= 0 and < 1, "model.lora.peft_lora_dropout", Lora.Dropout, "in [0, 1)");
        Require(SeqLength >= 2, "train.seq_length", SeqLength, "at least 2");
        Require(BatchSize >= 1, "per_device_train_batch_size", BatchSize, "at least 1");
        Require(GradientAccumulationSteps >= 1, "gradient_accumulation_steps", GradientAccumulationSteps, "at least 1");
        Require(MaxSteps is -1 or >= 1, "max_steps", MaxSteps, "-1 or at least 1");
        Require(NumTrainEpochs > 0 && double.IsFinite(NumTrainEpochs), "num_train_epochs", NumTrainEpochs, "above 0");
        Require(LearningRate > 0 && double.IsFinite(LearningRate), "learning_rate", LearningRate, "a finite number above 0");
        Require(LearningRateMin is null || (LearningRateMin >= 0 && LearningRateMin <= LearningRate), "learning_rate_min", LearningRateMin ?? 0, "in [0, learning_rate_max]");
        Require(Enum.IsDefined(LrSchedulerType), "lr_scheduler_type", LrSchedulerType, "linear, cosine, constant or constant_with_warmup");
        Require(WarmupSteps >= 0, "warmup_steps", WarmupSteps, "≥ 0");
        Require(WarmupRatio is >= 0 and <= 1, "warmup_ratio", WarmupRatio, "in [0, 1]");
        Require(WeightDecay >= 0 && double.IsFinite(WeightDecay), "weight_decay", WeightDecay, "≥ 0");
        Require(MaxGradNorm >= 0 && double.IsFinite(MaxGradNorm), "max_grad_norm", MaxGradNorm, "≥ 0 (0 disables clipping)");
        Require(AdamBeta1 is >= 0 and < 1, "adam_beta1", AdamBeta1, "in [0, 1)");
        Require(AdamBeta2 is >= 0 and < 1, "adam_beta2", AdamBeta2, "in [0, 1)");
        Require(AdamEpsilon > 0, "adam_epsilon", AdamEpsilon, "above 0");
        Require(ProximalMu >= 0 && double.IsFinite(ProximalMu), "proximal_mu", ProximalMu, "a finite number ≥ 0");
        Require(LoggingSteps >= 1, "logging_steps", LoggingSteps, "at least 1");
        Require(SaveSteps >= 1, "save_steps", SaveSteps, "at least 1");
        Require(SaveTotalLimit is null or >= 1, "save_total_limit", SaveTotalLimit ?? 0, "null or at least 1");
        Require(EvalEveryRounds >= 0, "train.eval_every_rounds", EvalEveryRounds, "0 (never) or at least 1");
        Require(EvalMaxExamples is null or >= 1, "train.eval_max_examples", EvalMaxExamples ?? 0, "null or at least 1");
        RecordPrivacy?.Validate();
        if (RecordPrivacy is not null && ProximalMu > 0)
        {
            throw new ArgumentException($"Training recipe key 'train.differential_privacy': {RecordPrivacyWithFedProx}");
        }

        return this;
    }

    private static void Require(bool ok, string key, object value, string allowed)
    {
        if (!ok)
        {
            throw new ArgumentException($"Training recipe key '{key}' is {value}: it must be {allowed}.");
        }
    }
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

/// <summary>How the frozen base model's linear weights are held in memory (<c>model.quantization</c>).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<BaseQuantization>))]
public enum BaseQuantization
{
    /// <summary>Full precision (quantization absent or null): the weights keep the loaded dtype.</summary>
    None = 0,

    /// <summary><c>quantization: 8</c>: int8 codes with one absmax scale per output row.</summary>
    Int8 = 8,

    /// <summary><c>quantization: 4</c>: NF4 codes (bitsandbytes' 16 normal-float values), absmax per block of 64.</summary>
    Nf4 = 4,
}

/// <summary>Which side sequences are padded on.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<PaddingSide>))]
public enum PaddingSide
{
    Left,
    Right,
}

/// <summary>HF Trainer learning-rate schedules supported by the trainer.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<LrSchedulerType>))]
public enum LrSchedulerType
{
    Linear,
    Cosine,
    Constant,
    ConstantWithWarmup,
}
