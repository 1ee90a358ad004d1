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
}

/// <summary>How many hospitals a round samples; 0 with a <see cref="Problem"/> when the federation is too small.</summary>
public readonly record struct SampleSize(int Count, string? Problem);

/// <summary>SplitMix64: a tiny, fully specified PRNG, so sampling never depends on a runtime's Random implementation.</summary>
public sealed class SplitMix64(ulong state)
{
    private ulong _state = state;

    public ulong Next()
    {
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, bound) without modulo bias.</summary>
    public ulong NextBelow(ulong bound)
    {
        ArgumentOutOfRangeException.ThrowIfZero(bound);
        ulong limit = ulong.MaxValue - (ulong.MaxValue % bound);
        ulong value;
        do value = Next(); while (value >= limit);
        return value % bound;
    }

    /// <summary>One well-mixed 64-bit state from several integers.</summary>
    public static ulong Mix(params long[] parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        ulong h = 0x243F6A8885A308D3UL;
        foreach (long part in parts)
        {
            var r = new SplitMix64(h ^ unchecked((ulong)part));
            h = r.Next();
        }
        return h;
    }

    /// <summary>A non-negative 63-bit seed derived from the run seed and labels (per hospital, per round).</summary>
    public static long DeriveSeed(long seed, int round, string label)
    {
        ArgumentNullException.ThrowIfNull(label);
        long labelHash = 0;
        foreach (char c in label) labelHash = unchecked(labelHash * 31 + c);
        return (long)(Mix(seed, round, labelHash) >> 1);
    }
}
