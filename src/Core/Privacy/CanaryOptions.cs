namespace FedTune.Core.Privacy;

/// <summary>
/// Synthetic secrets planted in one hospital's training shard (Carlini et al. 2019): <see cref="Count"/> distinct
/// canaries, each a fake patient with a fake <see cref="Digits"/>-digit medical record number, each inserted
/// <see cref="Repetitions"/> times. After training, each secret is ranked among <see cref="Candidates"/> records
/// that differ only in the number (the true one included).
/// </summary>
public sealed record CanaryOptions
{
    public int Count { get; init; } = 4;

    public int Repetitions { get; init; } = 1;

    public int Digits { get; init; } = 8;

    public int Candidates { get; init; } = 10_000;

    /// <summary>Zero-based index of the hospital whose shard receives the canaries.</summary>
    public int HospitalIndex { get; init; }

    public int Seed { get; init; } = 2019;

    public void Validate()
    {
        if (Count < 1)
        {
            throw new ArgumentException($"Canary count is {Count}: insert at least 1 canary, or leave canaries off.");
        }

        if (Repetitions < 1)
        {
            throw new ArgumentException($"Canary repetitions is {Repetitions}: each canary must be inserted at least once.");
        }

        if (Digits is < 4 or > 12)
        {
            throw new ArgumentException($"Canary digits is {Digits}: use 4 to 12 digits.");
        }

        if (Candidates < 2 || Candidates > 9 * Math.Pow(10, Digits - 1) / 2)
        {
            throw new ArgumentException(
                $"Canary candidates is {Candidates}: it must be at least 2 and at most half of the {Digits}-digit numbers (no leading zero).");
        }

        if (HospitalIndex < 0)
        {
            throw new ArgumentException($"Canary hospital index is {HospitalIndex}: hospitals are numbered from 0.");
        }
    }
}
