namespace FedTune.Core.Adapters;

/// <summary>One named F32 tensor of an adapter (row-major, like PyTorch).</summary>
public sealed record LoraTensor(string Name, long[] Shape, float[] Data)
{
    /// <summary>Product of the shape.</summary>
    public long ElementCount => Shape.Aggregate(1L, (a, b) => checked(a * b));
}
