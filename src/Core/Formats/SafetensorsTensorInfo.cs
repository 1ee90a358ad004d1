namespace FedTune.Core.Formats;

/// <summary>One tensor's entry in a safetensors header.</summary>
/// <param name="Name">Tensor name (key in the header).</param>
/// <param name="DType">Element type.</param>
/// <param name="Shape">Dimensions; empty for a scalar.</param>
/// <param name="DataOffset">Absolute byte offset of the first element from the start of the file.</param>
/// <param name="ByteLength">Number of bytes the tensor occupies.</param>
public sealed record SafetensorsTensorInfo(string Name, SafetensorsDType DType, long[] Shape, long DataOffset, long ByteLength)
{
    /// <summary>Number of elements (product of the shape; 1 for a scalar).</summary>
    public long ElementCount => ByteLength / SafetensorsDTypes.SizeOf(DType);
}
