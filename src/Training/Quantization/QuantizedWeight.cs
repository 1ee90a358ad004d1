using FedTune.Core.Configuration;
using TorchSharp;
using static TorchSharp.torch;

namespace FedTune.Training.Quantization;

/// <summary>A frozen weight matrix kept in a compact code form and dequantized on the fly for each forward.</summary>
public abstract class QuantizedWeight : IDisposable
{
    protected QuantizedWeight(long[] shape, ScalarType computeType)
    {
        Shape = shape;
        ComputeType = computeType;
    }

    /// <summary>The shape of the full-precision weight ([out, in] for a Linear).</summary>
    public long[] Shape { get; }

    /// <summary>The dtype <see cref="Dequantize"/> returns (the model's dtype).</summary>
    public ScalarType ComputeType { get; }

    /// <summary>Bytes the codes and scales occupy in memory.</summary>
    public abstract long ByteCount { get; }

    /// <summary>The weight rebuilt in <see cref="ComputeType"/> (a new tensor in the caller's dispose scope).</summary>
    public abstract Tensor Dequantize();

    /// <summary>Moves the codes and scales to another device.</summary>
    public abstract void MoveTo(Device device);

    /// <summary>Quantizes <paramref name="weight"/> with the chosen scheme (the input is left untouched).</summary>
    public static QuantizedWeight Create(Tensor weight, BaseQuantization scheme)
    {
        ArgumentNullException.ThrowIfNull(weight);
        return scheme switch
        {
            BaseQuantization.Nf4 => Nf4Weight.Quantize(weight),
            BaseQuantization.Int8 => Int8Weight.Quantize(weight),
            _ => throw new ArgumentOutOfRangeException(nameof(scheme), scheme, "Only NF4 and Int8 store quantized weights."),
        };
    }

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected abstract void Dispose(bool disposing);
}
