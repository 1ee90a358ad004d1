namespace FedTune.Core.Randomness;

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
