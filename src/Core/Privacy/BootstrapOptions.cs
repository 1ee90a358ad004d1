namespace FedTune.Core.Privacy;

/// <summary>
/// Percentile bootstrap settings. Members and non-members are resampled separately, with replacement, at their own
/// sizes (a stratified bootstrap, so every resample keeps the class balance); the interval is the
/// (1-<see cref="ConfidenceLevel"/>)/2 and (1+<see cref="ConfidenceLevel"/>)/2 percentiles of the resampled figures.
/// </summary>
public sealed record BootstrapOptions
{
    public int Resamples { get; init; } = 1000;

    public double ConfidenceLevel { get; init; } = 0.95;

    public int Seed { get; init; } = 1234;

    public void Validate()
    {
        if (Resamples < 0)
        {
            throw new ArgumentException($"Bootstrap resamples is {Resamples}: use 0 (no intervals) or more, 1000 is usual.");
        }

        if (!(ConfidenceLevel > 0 && ConfidenceLevel < 1))
        {
            throw new ArgumentException($"Confidence level is {ConfidenceLevel}: it must be in (0, 1), e.g. 0.95.");
        }
    }
}
