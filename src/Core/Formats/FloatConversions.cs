using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace FedTune.Core.Formats;

/// <summary>Conversions between the on-disk float encodings and <see cref="float"/>.</summary>
internal static class FloatConversions
{
    public static ushort ToBFloat16Bits(float value)
    {
        var bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value))
        {
            return (ushort)((bits >> 16) | 0x0040); // keep it a (quiet) NaN
        }

        var roundingBias = 0x7FFFu + ((bits >> 16) & 1u);
        return (ushort)((bits + roundingBias) >> 16);
    }

    public static float FromBFloat16Bits(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);

    /// <summary>Converts little-endian source bytes of <paramref name="dtype"/> to floats.</summary>
    public static void ToFloat32(SafetensorsDType dtype, ReadOnlySpan<byte> source, Span<float> destination)
    {
        switch (dtype)
        {
            case SafetensorsDType.F32:
                MemoryMarshal.Cast<byte, float>(source).CopyTo(destination);
                break;
            case SafetensorsDType.F16:
                TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<byte, Half>(source), destination);
                break;
            case SafetensorsDType.BF16:
                var bf = MemoryMarshal.Cast<byte, ushort>(source);
                for (var i = 0; i < bf.Length; i++)
                {
                    destination[i] = FromBFloat16Bits(bf[i]);
                }

                break;
            case SafetensorsDType.F64:
                var doubles = MemoryMarshal.Cast<byte, double>(source);
                for (var i = 0; i < doubles.Length; i++)
                {
                    destination[i] = (float)doubles[i];
                }

                break;
            default:
                throw new NotSupportedException($"dtype {dtype} is not a floating-point type.");
        }
    }
}
