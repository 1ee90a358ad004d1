using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using static TorchSharp.torch;
using Tensor = TorchSharp.torch.Tensor;

namespace FedTune.Training.Quantization;

/// <summary>
/// NF4 dequantization on the CPU in one pass: each packed byte's two 4-bit codes looked up in the 16 code values and
/// multiplied by their block's absmax, written straight into the float32 output (the same products, bit for bit, as the
/// tensor formula <c>table[codes] · absmax</c>). The tensor formula widens every byte to an int64 index and makes three
/// passes over the weight; this runs at about the speed of writing the output, which matters because the trainer
/// dequantizes every projection twice per step (forward, and the input gradient in backward). With AVX-512 a block's
/// 16 code values sit in one register and a permute looks up 16 weights at once; elsewhere a scalar loop.
/// </summary>
internal static class Nf4Dequantizer
{
    private const int BytesPerBlock = Nf4Weight.BlockSize / 2;

    /// <summary>
    /// Fills <paramref name="output"/> (a contiguous float32 CPU tensor of at least <paramref name="count"/> values) from
    /// <paramref name="packed"/> (contiguous bytes, high nibble first) and <paramref name="absmax"/> (one float32 per block
    /// of 64), on the calling thread (as <see cref="FedTune.Training.Modeling.SoftmaxRows"/>: thread-pool workers beside
    /// libtorch's spinning OpenMP threads made steps slower on a busy machine, and one thread writes the 75 MB of a
    /// pythia-70m step's dequantized weights in milliseconds).
    /// </summary>
    public static void Dequantize(Tensor packed, Tensor absmax, Tensor output, long count)
    {
        long blocks = absmax.NumberOfElements;
        if (packed.NumberOfElements != blocks * BytesPerBlock || output.NumberOfElements < count || count > 2 * packed.NumberOfElements
            || packed.dtype != ScalarType.Byte || absmax.dtype != ScalarType.Float32 || output.dtype != ScalarType.Float32
            || !packed.is_contiguous() || !absmax.is_contiguous() || !output.is_contiguous())
        {
            throw new ArgumentException($"{packed.NumberOfElements} packed bytes, {blocks} blocks and {output.NumberOfElements} outputs for {count} values do not match.");
        }

        int fullBlocks = (int)(count / Nf4Weight.BlockSize);
        var codes = packed.bytes;
        var scales = MemoryMarshal.Cast<byte, float>(absmax.bytes);
        var values = MemoryMarshal.Cast<byte, float>(output.bytes);
        Blocks(codes, scales, values, 0, fullBlocks);
        for (long i = (long)fullBlocks * Nf4Weight.BlockSize; i < count; i++)
        {
            byte code = codes[(int)(i / 2)];
            values[(int)i] = Nf4Weight.CodeValues[(i & 1) == 0 ? code >> 4 : code & 15] * scales[(int)(i / Nf4Weight.BlockSize)];
        }
    }

    /// <summary>Blocks [<paramref name="from"/>, <paramref name="to"/>).</summary>
    private static void Blocks(ReadOnlySpan<byte> packed, ReadOnlySpan<float> absmax, Span<float> output, int from, int to)
    {
        for (int b = from; b < to; b++)
            Block(packed.Slice(b * BytesPerBlock, BytesPerBlock), absmax[b], output.Slice(b * Nf4Weight.BlockSize, Nf4Weight.BlockSize));
    }

    /// <summary>One block: 32 bytes into 64 values.</summary>
    private static void Block(ReadOnlySpan<byte> packed, float scale, Span<float> output)
    {
        if (Avx512F.IsSupported)
        {
            var table = Table;
            var scales = Vector512.Create(scale);
            var mask = Vector128.Create((byte)15);
            for (int half = 0; half < 2; half++)
            {
                var bytes = Vector128.Create(packed.Slice(half * 16, 16));
                var high = Vector128.ShiftRightLogical(bytes.AsUInt16(), 4).AsByte() & mask;
                var low = bytes & mask;
                // Weights in order: high and low nibble of byte 0, then of byte 1, ...
                var first = Sse2.UnpackLow(high, low);
                var second = Sse2.UnpackHigh(high, low);
                var values = output.Slice(half * 32, 32);
                (Avx512F.PermuteVar16x32(table, Avx512F.ConvertToVector512Int32(first)) * scales).CopyTo(values);
                (Avx512F.PermuteVar16x32(table, Avx512F.ConvertToVector512Int32(second)) * scales).CopyTo(values[16..]);
            }

            return;
        }

        var codeValues = Nf4Weight.CodeValues;
        for (int i = 0; i < packed.Length; i++)
        {
            byte code = packed[i];
            output[2 * i] = codeValues[code >> 4] * scale;
            output[(2 * i) + 1] = codeValues[code & 15] * scale;
        }
    }

    private static readonly Vector512<float> Table = Vector512.Create(Nf4Weight.CodeValues);
}
