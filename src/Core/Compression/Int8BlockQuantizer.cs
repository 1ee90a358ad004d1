namespace FedTune.Core.Compression;

/// <summary>
/// Int8 quantization in absmax blocks (as bitsandbytes' blockwise int8, Dettmers et al. 2022): each block of
/// <see cref="BlockSize"/> values is scaled by its largest magnitude to [-127, 127] and rounded stochastically
/// (round up with probability equal to the fractional part), so the dequantized value is unbiased:
/// E[dequantize(quantize(x))] = x, and averaging many hospitals' updates averages the rounding error away.
/// Deterministic for a seed: a replayed upload gives the same bytes.
/// </summary>
public static class Int8BlockQuantizer
{
    /// <summary>Values per absmax block (64: one F32 scale per 64 int8s, 6.25 % overhead).</summary>
    public const int BlockSize = 64;

    /// <summary>Blocks for <paramref name="length"/> values.</summary>
    public static int BlockCount(int length) => (length + BlockSize - 1) / BlockSize;

    /// <summary>
    /// Quantizes <paramref name="values"/> into <paramref name="codes"/> and one absmax per block; the rounding draws come
    /// from a SplitMix64 stream whose state <paramref name="state"/> advances (so consecutive tensors draw fresh numbers).
    /// </summary>
    public static void Quantize(ReadOnlySpan<float> values, Span<sbyte> codes, Span<float> absmax, ref ulong state)
    {
        if (codes.Length != values.Length || absmax.Length != BlockCount(values.Length))
        {
            throw new ArgumentException($"{values.Length} values need {values.Length} codes and {BlockCount(values.Length)} scales.");
        }

        for (var block = 0; block < absmax.Length; block++)
        {
            var start = block * BlockSize;
            var slice = values.Slice(start, Math.Min(BlockSize, values.Length - start));
            var max = 0f;
            foreach (var value in slice)
            {
                if (!float.IsFinite(value))
                {
                    throw new ArgumentException($"value {value} at index {start} is not finite; an update with NaN or infinity cannot be sent.", nameof(values));
                }

                max = Math.Max(max, Math.Abs(value));
            }

            absmax[block] = max;
            for (var i = 0; i < slice.Length; i++)
            {
                if (max == 0)
                {
                    codes[start + i] = 0;
                    continue;
                }

                var scaled = slice[i] / max * 127.0;
                var floor = Math.Floor(scaled);
                var rounded = floor + (NextUnit(ref state) < scaled - floor ? 1 : 0);
                codes[start + i] = (sbyte)Math.Clamp(rounded, -127, 127);
            }
        }
    }

    /// <summary>Uniform in [0, 1) from SplitMix64 (Steele et al. 2014): 53 random bits.</summary>
    private static double NextUnit(ref ulong state)
    {
        ulong z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return ((z ^ (z >> 31)) >> 11) * (1.0 / (1UL << 53));
    }

    /// <summary>The values the codes stand for: code × absmax / 127.</summary>
    public static void Dequantize(ReadOnlySpan<sbyte> codes, ReadOnlySpan<float> absmax, Span<float> values)
    {
        if (codes.Length != values.Length || absmax.Length != BlockCount(values.Length))
        {
            throw new ArgumentException($"{values.Length} values need {values.Length} codes and {BlockCount(values.Length)} scales.");
        }

        for (var i = 0; i < values.Length; i++)
        {
            values[i] = codes[i] * absmax[i / BlockSize] / 127f;
        }
    }
}
