namespace FedTune.Core.SecureAggregation;

/// <summary>
/// Fixed-point encoding of real values into the ring Z/2^64 that secure aggregation masks in: a value becomes
/// round(value × 2^<see cref="FractionBits"/>) as a two's-complement 64-bit integer, so sums wrap exactly and the
/// sum of encodings decodes to the sum of values (each rounded by at most 2^-(F+1)) as long as it stays within
/// ±2^(63-F) (±5.5e11 with F = 24: FedAvg numerators example_count × weight stay far inside).
/// </summary>
public static class FixedPointEncoding
{
    public const int FractionBits = 24;
    public const double Scale = 1 << FractionBits;

    /// <summary>Largest magnitude one encoded value may have.</summary>
    public const double MaxMagnitude = (double)(1L << (62 - FractionBits));

    /// <summary>Encodes weight × value for every value, then the weight itself as the last element (FedAvg: Σ w·x and Σ w).</summary>
    public static ulong[] EncodeWeighted(ReadOnlySpan<float> values, double weight)
    {
        if (!double.IsFinite(weight) || weight <= 0 || weight > MaxMagnitude)
        {
            throw new ArgumentOutOfRangeException(nameof(weight), weight, "The FedAvg weight must be positive and finite.");
        }

        var encoded = new ulong[values.Length + 1];
        for (var i = 0; i < values.Length; i++)
        {
            encoded[i] = Encode(weight * values[i], i);
        }

        encoded[^1] = Encode(weight, values.Length);
        return encoded;
    }

    /// <summary>The weighted mean Σ w·x / Σ w from a summed <see cref="EncodeWeighted"/> vector.</summary>
    public static float[] DecodeWeightedMean(ReadOnlySpan<ulong> summed)
    {
        if (summed.Length < 1)
        {
            throw new ArgumentException("An encoded sum has at least the weight element.", nameof(summed));
        }

        var totalWeight = Decode(summed[^1]);
        if (totalWeight <= 0)
        {
            throw new InvalidOperationException($"The summed FedAvg weight decodes to {totalWeight}; the masks were not removed correctly.");
        }

        var mean = new float[summed.Length - 1];
        for (var i = 0; i < mean.Length; i++)
        {
            mean[i] = (float)(Decode(summed[i]) / totalWeight);
        }

        return mean;
    }

    /// <summary>The total weight Σ w of a summed <see cref="EncodeWeighted"/> vector.</summary>
    public static double DecodeTotalWeight(ReadOnlySpan<ulong> summed) => Decode(summed[^1]);

    public static ulong Encode(double value, int index = 0)
    {
        if (!double.IsFinite(value) || Math.Abs(value) > MaxMagnitude)
        {
            throw new ArgumentOutOfRangeException(nameof(value), value,
                $"Element {index} is {value}: not finite or beyond ±{MaxMagnitude:G3}, it cannot be encoded for secure aggregation.");
        }

        return unchecked((ulong)(long)Math.Round(value * Scale, MidpointRounding.ToEven));
    }

    public static double Decode(ulong encoded) => unchecked((long)encoded) / Scale;

    /// <summary>Adds <paramref name="source"/> into <paramref name="target"/> modulo 2^64.</summary>
    public static void AddInto(Span<ulong> target, ReadOnlySpan<ulong> source)
    {
        for (var i = 0; i < target.Length; i++)
        {
            target[i] = unchecked(target[i] + source[i]);
        }
    }

    /// <summary>Subtracts <paramref name="source"/> from <paramref name="target"/> modulo 2^64.</summary>
    public static void SubtractFrom(Span<ulong> target, ReadOnlySpan<ulong> source)
    {
        for (var i = 0; i < target.Length; i++)
        {
            target[i] = unchecked(target[i] - source[i]);
        }
    }
}
