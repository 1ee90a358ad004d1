namespace FedTune.Core.Configuration;

/// <summary>
/// Every default value of the configuration, in one place (mirrored in the table in docs/core.md).
/// Values follow the world each key comes from: HF <c>TrainingArguments</c>, PEFT <c>LoraConfig</c>,
/// Flower's strategies and the FlowerTune LLM template.
/// </summary>
public static class ConfigDefaults
{
    // model
    public const bool GradientCheckpointing = false;
    public const bool UseFastTokenizer = true;

    // model.lora (PEFT LoraConfig; FlowerTune keys)
    public const int LoraR = 8;                 // PEFT LoraConfig.r
    public const double LoraAlpha = 8;          // PEFT LoraConfig.lora_alpha
    public const double LoraDropout = 0.075;    // FlowerTune's template hard-codes lora_dropout=0.075 (PEFT's own default is 0.0)
    public const bool FreezeA = false;

    // train (FlowerTune)
    public const int SaveEveryRound = 5;
    public const int SeqLength = 512;
    public const PaddingSide Padding = PaddingSide.Right;

    // train.training_arguments (HF TrainingArguments defaults)
    public const double LearningRate = 5e-5;
    public const int PerDeviceTrainBatchSize = 8;
    public const int GradientAccumulationSteps = 1;
    public const int LoggingSteps = 500;
    public const int MaxSteps = -1;             // -1: train for num_train_epochs
    public const double NumTrainEpochs = 3;
    public const int SaveSteps = 500;
    public const LrSchedulerType LrScheduler = LrSchedulerType.Linear;
    public const int WarmupSteps = 0;
    public const double WarmupRatio = 0;
    public const double WeightDecay = 0;
    public const double MaxGradNorm = 1.0;
    public const double AdamBeta1 = 0.9;
    public const double AdamBeta2 = 0.999;
    public const double AdamEpsilon = 1e-8;
    public const int Seed = 42;

    // federation (Flower server/strategy defaults where Flower has one)
    public const int Rounds = 5;
    public const double FractionFit = 1.0;
    public const int MinFitClients = 2;
    public const int MinAvailableClients = 2;
    public static readonly TimeSpan RoundDeadline = TimeSpan.FromHours(1);
    public const QuorumFailurePolicy OnQuorumFailure = QuorumFailurePolicy.Retry;
    public const int MaxRetries = 2;
    public const string HospitalDataFormat = "alpaca";

    // federation.strategy (Flower: FedAvgM, FedAdagrad, FedAdam, FedYogi, FedTrimmedAvg)
    public const StrategyName Strategy = StrategyName.FedAvg;
    public const double ServerLearningRate = 1.0;
    public const double ServerMomentum = 0.0;
    public const double EtaAdaptive = 0.1;      // Flower FedAdagrad/FedAdam eta
    public const double EtaYogi = 0.01;         // Flower FedYogi eta
    public const double EtaL = 0.1;             // Flower eta_l (client learning rate; informational here)
    public const double Beta1 = 0.9;           // Flower FedAdam/FedYogi beta_1 (FedAdagrad fixes beta_1 = 0)
    public const double Beta2 = 0.99;
    public const double TauAdaptive = 1e-9;     // Flower FedAdagrad/FedAdam tau
    public const double TauYogi = 1e-3;         // Flower FedYogi tau
    public const double ProximalMu = 0.01;      // FedProx mu when strategy is fedprox
    public const double TrimFraction = 0.2;     // Flower FedTrimmedAvg beta: fraction cut from each end
    public const double NormBound = 1.0;

    // federation.differential_privacy
    public const double Delta = 1e-5;

    // federation.validation
    public const double MaxNormRatio = 10;
    public const bool RequireManifestHash = true;

    // federation.weighting
    public const double WeightingCap = 2;

    /// <summary>eta for an adaptive strategy when the config gives none.</summary>
    public static double EtaFor(StrategyName name) => name == StrategyName.FedYogi ? EtaYogi : EtaAdaptive;

    /// <summary>beta_1 for an adaptive strategy when the config gives none: Flower's FedAdagrad passes beta_1 = 0 (no momentum).</summary>
    public static double Beta1For(StrategyName name) => name == StrategyName.FedAdagrad ? 0 : Beta1;

    /// <summary>tau for an adaptive strategy when the config gives none.</summary>
    public static double TauFor(StrategyName name) => name == StrategyName.FedYogi ? TauYogi : TauAdaptive;
}
