namespace FedTune.Training.Trainer;

/// <summary>Hugging Face <c>lr_scheduler_type</c> values the trainer supports.</summary>
public enum LearningRateSchedulerType
{
    Linear,
    Cosine,
    Constant,
    ConstantWithWarmup,
}
