namespace FedTune.Training.Trainer;

/// <summary>
/// The outcome of <see cref="CausalLmTrainer.Train"/>. <see cref="MeanLoss"/> averages the per-step task losses of
/// every step (including steps done before a resume); <see cref="TokensPerSecond"/> counts only this call's steps.
/// </summary>
public sealed record TrainingResult(
    int Steps,
    int ResumedFromStep,
    double MeanLoss,
    double FinalStepLoss,
    long Tokens,
    TimeSpan Elapsed,
    double TokensPerSecond,
    IReadOnlyList<TrainingLogEntry> History)
{
    /// <summary>The record-level DP the steps ran with (set by the DP-SGD path only; null: plain steps).</summary>
    public FedTune.Core.Configuration.RecordPrivacyConfig? RecordPrivacy { get; init; }
}
