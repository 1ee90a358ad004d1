namespace FedTune.Training.Privacy;

/// <summary>
/// How records are scored: <see cref="BatchSize"/> records per forward pass; the scored positions go through the output
/// layer and are turned into log-probabilities <see cref="PositionChunk"/> rows at a time (PositionChunk × vocabulary ×
/// 4 bytes of logits live at once, 26 MB for 128 rows of a 50k vocabulary, each row then reduced in a cache-sized
/// buffer by <see cref="NextTokenStatistics"/>; 32 rows was slower on a loaded 2-core machine, where every small
/// operation waits for both threads). <see cref="DistributionStatistics"/> computes the Min-K%++ mean and
/// variance of log p under the next-token distribution (skip it for canary candidates, where only the NLL is used).
/// </summary>
public sealed record TokenScoringOptions
{
    public int BatchSize { get; init; } = 8;

    public int PositionChunk { get; init; } = 128;

    public bool DistributionStatistics { get; init; } = true;

    public void Validate()
    {
        if (BatchSize < 1)
        {
            throw new ArgumentException($"Scoring batch size is {BatchSize}: it must be at least 1.");
        }

        if (PositionChunk < 1)
        {
            throw new ArgumentException($"Scoring position chunk is {PositionChunk}: it must be at least 1.");
        }
    }
}
