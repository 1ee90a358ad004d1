namespace FedTune.Training.Trainer;

/// <summary>
/// What the trainer reports every <c>logging_steps</c> optimizer steps: <see cref="Step"/> is 1-based (steps done),
/// <see cref="Loss"/> the mean token-level task loss over the steps since the last report, <see cref="LearningRate"/>
/// the rate the last of those steps used, <see cref="Tokens"/> the non-padding tokens processed so far in this run,
/// <see cref="GradNorm"/> the last step's gradient norm before clipping (with record-level DP: the noised gradient's norm).
/// </summary>
public sealed record TrainingLogEntry(int Step, double Loss, double LearningRate, long Tokens, double GradNorm, double ProximalTerm)
{
    /// <summary>
    /// With record-level DP: the records in the last step's Poisson sample (null without DP). A step whose sample held no
    /// scored record still adds noise and steps; its loss counts as 0, so 0 here flags a loss that is not a measurement.
    /// </summary>
    public int? SampledRecords { get; init; }
}
