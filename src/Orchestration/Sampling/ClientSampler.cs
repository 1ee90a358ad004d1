using FedTune.Core.Randomness;

namespace FedTune.Orchestration.Sampling;

/// <summary>
/// Chooses the hospitals of a round like Flower's <c>sample(num_clients, min_num_clients)</c>: the sample size is
/// <c>max(floor(n * fraction_fit), min_fit_clients)</c> capped at n, drawn without replacement by a
/// seeded shuffle of the sorted ids. The same (seed, round, attempt) always gives the same sample, so the
/// orchestrator stays deterministic on replay.
/// </summary>
public static class ClientSampler
{
    public static SampleSize SizeFor(int available, double fractionFit, int minFitClients, int minAvailableClients)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(available);
        if (double.IsNaN(fractionFit) || fractionFit <= 0 || fractionFit > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(fractionFit), fractionFit, "fraction_fit must be in (0, 1].");
        }
        ArgumentOutOfRangeException.ThrowIfLessThan(minFitClients, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(minAvailableClients, 1);
        if (available < minAvailableClients)
        {
            return new SampleSize(0, $"only {available} hospital(s) are configured but min_available_clients is {minAvailableClients}");
        }
        if (available < minFitClients)
        {
            return new SampleSize(0, $"only {available} hospital(s) are configured but min_fit_clients is {minFitClients}");
        }
        int size = Math.Max((int)Math.Floor(available * fractionFit), minFitClients);
        return new SampleSize(Math.Min(size, available), null);
    }

    /// <summary>The selected hospitals (sorted), or an empty list with the reason in <see cref="SampleSize.Problem"/>.</summary>
    public static IReadOnlyList<string> Select(IReadOnlyList<string> hospitals, long seed, int round, int attempt,
        double fractionFit, int minFitClients, int minAvailableClients)
    {
        ArgumentNullException.ThrowIfNull(hospitals);
        var size = SizeFor(hospitals.Count, fractionFit, minFitClients, minAvailableClients);
        if (size.Count == 0) return [];
        var pool = hospitals.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        var random = new SplitMix64(SplitMix64.Mix(seed, round, attempt));
        for (int i = 0; i < size.Count; i++)
        {
            int j = i + (int)random.NextBelow((ulong)(pool.Length - i));
            (pool[i], pool[j]) = (pool[j], pool[i]);
        }
        return pool.Take(size.Count).Order(StringComparer.Ordinal).ToArray();
    }

    /// <summary>
    /// Poisson sampling, as the DP accountant assumes: each hospital independently with probability <paramref name="rate"/>
    /// (seeded by seed, round and attempt, so replays agree). The sample may be smaller than min_fit_clients, or empty;
    /// the round then fails its quorum like any other.
    /// </summary>
    public static IReadOnlyList<string> SelectPoisson(IReadOnlyList<string> hospitals, long seed, int round, int attempt, double rate)
    {
        ArgumentNullException.ThrowIfNull(hospitals);
        var random = new SplitMix64(SplitMix64.Mix(seed, round, attempt, 0x506F6973)); // "Pois"
        return hospitals.Order(StringComparer.Ordinal)
            .Where(_ => (random.Next() >> 11) * (1.0 / (1UL << 53)) < rate)
            .ToArray();
    }
}

/// <summary>How many hospitals a round samples; 0 with a <see cref="Problem"/> when the federation is too small.</summary>
public readonly record struct SampleSize(int Count, string? Problem);
