namespace FedTune.Training.Trainer;

/// <summary>
/// What the trainer reports every <c>logging_steps</c> optimizer steps: <see cref="Step"/> is 1-based (steps done),
/// <see cref="Loss"/> the mean token-level task loss over the steps since the last report, <see cref="LearningRate"/>
/// the rate the last of those steps used, <see cref="Tokens"/> the non-padding tokens processed so far in this run,
/// <see cref="GradNorm"/> the last step's gradient norm before clipping.
/// </summary>
public sealed record TrainingLogEntry(int Step, double Loss, double LearningRate, long Tokens, double GradNorm, double ProximalTerm);
