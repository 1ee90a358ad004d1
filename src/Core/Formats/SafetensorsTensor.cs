using System.Runtime.InteropServices;

namespace FedTune.Core.Formats;

/// <summary>A tensor to write: name, element type, shape and its little-endian bytes.</summary>
public sealed record SafetensorsTensor(string Name, SafetensorsDType DType, long[] Shape, ReadOnlyMemory<byte> Data)
{
    /// <summary>An F32 tensor holding a copy of <paramref name="data"/>.</summary>
    public static SafetensorsTensor FromFloat32(string name, long[] shape, float[] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        return new SafetensorsTensor(name, SafetensorsDType.F32, shape, MemoryMarshal.AsBytes(data.AsSpan()).ToArray());
    }

    /// <summary>An F16 tensor: <paramref name="data"/> rounded to half precision (round to nearest even).</summary>
    public static SafetensorsTensor FromFloat32AsFloat16(string name, long[] shape, float[] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        var halves = new Half[data.Length];
        System.Numerics.Tensors.TensorPrimitives.ConvertToHalf(data, halves);
        return new SafetensorsTensor(name, SafetensorsDType.F16, shape, MemoryMarshal.AsBytes(halves.AsSpan()).ToArray());
    }

    /// <summary>A BF16 tensor: <paramref name="data"/> rounded to bfloat16 (round to nearest even, NaN kept NaN).</summary>
    public static SafetensorsTensor FromFloat32AsBFloat16(string name, long[] shape, float[] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        var bytes = new byte[data.Length * 2];
        var destination = MemoryMarshal.Cast<byte, ushort>(bytes.AsSpan());
        for (var i = 0; i < data.Length; i++)
        {
            destination[i] = FloatConversions.ToBFloat16Bits(data[i]);
        }

        return new SafetensorsTensor(name, SafetensorsDType.BF16, shape, bytes);
    }
}
