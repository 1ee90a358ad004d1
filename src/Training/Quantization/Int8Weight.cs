using TorchSharp;
using static TorchSharp.torch;

namespace FedTune.Training.Quantization;

/// <summary>Int8 absmax quantization with one scale per output row: w ≈ code * absmax(row) / 127.</summary>
public sealed class Int8Weight : QuantizedWeight
{
    private Tensor _codes;
    private Tensor _scales;

    private Int8Weight(Tensor codes, Tensor scales, long[] shape, ScalarType computeType)
        : base(shape, computeType)
    {
        _codes = codes;
        _scales = scales;
    }

    /// <summary>The int8 codes, shaped like the weight.</summary>
    public Tensor Codes => _codes;

    /// <summary>Per-row scale absmax/127 as float32.</summary>
    public Tensor Scales => _scales;

    public override long ByteCount => _codes.NumberOfElements + (_scales.NumberOfElements * 4);

    internal static Int8Weight Quantize(Tensor weight)
    {
        using var scope = torch.NewDisposeScope();
        var rows = weight.detach().to(ScalarType.Float32).reshape(weight.shape[0], -1);
        var absmax = rows.abs().amax([1]);
        var scales = torch.where(absmax > 0, absmax, torch.ones_like(absmax)) / 127f;
        var codes = (rows / scales.unsqueeze(1)).round().clamp(-127, 127).to(ScalarType.Int8).view(weight.shape);
        return new Int8Weight(codes.DetachFromDisposeScope(), scales.DetachFromDisposeScope(), weight.shape, weight.dtype);
    }

    public override Tensor Dequantize()
    {
        using var scope = torch.NewDisposeScope();
        var rows = _codes.reshape(Shape[0], -1).to(ScalarType.Float32) * _scales.unsqueeze(1);
        return rows.view(Shape).to(ComputeType).MoveToOuterDisposeScope();
    }

    public override void MoveTo(Device device)
    {
        var codes = _codes.to(device);
        var scales = _scales.to(device);
        if (!ReferenceEquals(codes, _codes)) _codes.Dispose();
        if (!ReferenceEquals(scales, _scales)) _scales.Dispose();
        _codes = codes;
        _scales = scales;
    }

    protected override void Dispose(bool disposing)
    {
        if (!disposing) return;
        _codes.Dispose();
        _scales.Dispose();
    }
}
