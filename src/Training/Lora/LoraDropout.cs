using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using TorchSharp;
using static TorchSharp.torch;

namespace FedTune.Training.Lora;

/// <summary>
/// The dropout on the LoRA branch's input, as <c>nn.functional.dropout</c> computes it in training (each value kept with
/// probability 1 − p and scaled by 1 / (1 − p), the rest zeroed), with the mask drawn in one vectorized pass by a
/// counter-based generator (SplitMix64 of seed + index). On the CPU, libtorch's own <c>bernoulli_</c> takes MKL's
/// parallel generator on Intel CPUs only; everywhere else it draws the mask serially through mt19937, which at the
/// pythia-70m shape was about 55 ms of every 1.6 s training step while the second core waited
/// (docs/training-trainer.md). The seed is one draw from torch's generator, so <c>torch.manual_seed</c> and the
/// checkpointed recomputation, which restores torch's generator state (<see cref="Modeling.LayerCheckpointFunction"/>),
/// give the same mask. Off the CPU, libtorch's dropout runs as before.
/// </summary>
public static class LoraDropout
{
    private const ulong Golden = 0x9E3779B97F4A7C15UL;
    private const int ThresholdBits = 24;

    /// <summary><paramref name="input"/> with dropout of probability <paramref name="p"/> applied (unchanged when not <paramref name="training"/> or p is 0).</summary>
    public static Tensor Apply(Tensor input, double p, bool training)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (!training || p <= 0) return input;
        if (p >= 1) return input * 0;
        if (input.device_type != DeviceType.CPU || input.dtype != ScalarType.Float32)
            return nn.functional.dropout(input, p, training: true);
        using var scope = torch.NewDisposeScope();
        long seed = torch.randint(long.MaxValue, [1], dtype: ScalarType.Int64).item<long>();
        var mask = torch.empty(input.shape, dtype: ScalarType.Float32);
        Fill(MemoryMarshal.Cast<byte, float>(mask.bytes), (ulong)seed, 1 - p);
        return (input * mask).MoveToOuterDisposeScope();
    }

    /// <summary>Writes 1 / <paramref name="keep"/> or 0 into each of <paramref name="mask"/>, the first with probability <paramref name="keep"/>.</summary>
    internal static void Fill(Span<float> mask, ulong seed, double keep)
    {
        uint threshold = (uint)Math.Round(keep * (1 << ThresholdBits));
        float scale = (float)(1 / keep);
        uint scaleBits = BitConverter.SingleToUInt32Bits(scale);
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var lanes = Vector512.Create(0UL, 1, 2, 3, 4, 5, 6, 7);
            var limit = Vector512.Create((ulong)threshold);
            var kept = Vector512.Create((ulong)scaleBits);
            var words = MemoryMarshal.Cast<float, uint>(mask);
            for (; i + 16 <= mask.Length; i += 16)
            {
                var low = Vector512.ConditionalSelect(Vector512.LessThan(Mix(seed, (ulong)i, lanes), limit), kept, Vector512<ulong>.Zero);
                var high = Vector512.ConditionalSelect(Vector512.LessThan(Mix(seed, (ulong)i + 8, lanes), limit), kept, Vector512<ulong>.Zero);
                Vector512.Narrow(low, high).CopyTo(words.Slice(i, 16));
            }
        }

        for (; i < mask.Length; i++)
            mask[i] = (Mix(seed + ((ulong)i * Golden)) >> (64 - ThresholdBits)) < threshold ? scale : 0f;
    }

    /// <summary>The top 24 bits of SplitMix64 for counters <paramref name="start"/> + each lane.</summary>
    private static Vector512<ulong> Mix(ulong seed, ulong start, Vector512<ulong> lanes)
    {
        var z = Vector512.Create(seed) + ((Vector512.Create(start) + lanes) * Vector512.Create(Golden));
        z = (z ^ Vector512.ShiftRightLogical(z, 30)) * Vector512.Create(0xBF58476D1CE4E5B9UL);
        z = (z ^ Vector512.ShiftRightLogical(z, 27)) * Vector512.Create(0x94D049BB133111EBUL);
        z ^= Vector512.ShiftRightLogical(z, 31);
        return Vector512.ShiftRightLogical(z, 64 - ThresholdBits);
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
