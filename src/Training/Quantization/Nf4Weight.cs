using TorchSharp;
using static TorchSharp.torch;

namespace FedTune.Training.Quantization;

/// <summary>
/// NF4 as bitsandbytes stores it: the weight flattened into blocks of 64, each scaled by its absolute maximum, each value
/// replaced by the nearest of 16 normal-float code values, two 4-bit codes packed per byte (first value in the high nibble).
/// </summary>
public sealed class Nf4Weight : QuantizedWeight
{
    /// <summary>Values per absmax block.</summary>
    public const int BlockSize = 64;

    /// <summary>The 16 NF4 code values (bitsandbytes <c>get_4bit_type("nf4")</c>), ascending.</summary>
    public static readonly float[] CodeValues =
    [
        -1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f,
        -0.28444138169288635f, -0.18477343022823334f, -0.09105003625154495f, 0.0f,
        0.07958029955625534f, 0.16093020141124725f, 0.24611230194568634f, 0.33791524171829224f,
        0.44070982933044434f, 0.5626170039176941f, 0.7229568362236023f, 1.0f,
    ];

    private Tensor _packed;
    private Tensor _absmax;
    private Tensor _table;
    private readonly long _count;

    private Nf4Weight(Tensor packed, Tensor absmax, long[] shape, long count, ScalarType computeType)
        : base(shape, computeType)
    {
        _packed = packed;
        _absmax = absmax;
        _count = count;
        _table = PairTable(packed.device);
    }

    /// <summary>Packed codes: one byte per two weights.</summary>
    public Tensor PackedCodes => _packed;

    /// <summary>One float32 absmax per block of 64 weights.</summary>
    public Tensor Absmax => _absmax;

    public override long ByteCount => _packed.NumberOfElements + (_absmax.NumberOfElements * 4);

    internal static Nf4Weight Quantize(Tensor weight)
    {
        using var scope = torch.NewDisposeScope();
        long count = weight.NumberOfElements;
        long blocks = (count + BlockSize - 1) / BlockSize;
        var flat = weight.detach().flatten().to(ScalarType.Float32);
        long padded = blocks * BlockSize;
        if (padded != count)
            flat = torch.cat([flat, torch.zeros(padded - count, device: weight.device)]);
        var blockView = flat.view(blocks, BlockSize);
        var absmax = blockView.abs().amax([1]);
        var safe = torch.where(absmax > 0, absmax, torch.ones_like(absmax));
        var normalized = blockView / safe.unsqueeze(1);
        var table = torch.tensor(CodeValues, device: weight.device);
        var midpoints = (table.narrow(0, 0, 15) + table.narrow(0, 1, 15)) / 2;
        var codes = torch.bucketize(normalized.flatten(), midpoints).view(-1, 2);
        var packed = (codes.select(1, 0) * 16 + codes.select(1, 1)).to(ScalarType.Byte);
        return new Nf4Weight(
            packed.DetachFromDisposeScope(), absmax.DetachFromDisposeScope(), weight.shape, count, weight.dtype);
    }

    /// <summary>
    /// [256, 2]: the two code values each packed byte stands for (high nibble first), so dequantizing is one gather
    /// per byte and one multiply, with the same float32 values as unpacking the nibbles one by one.
    /// </summary>
    private static Tensor PairTable(Device device)
    {
        var pairs = new float[512];
        for (int b = 0; b < 256; b++)
        {
            pairs[2 * b] = CodeValues[b >> 4];
            pairs[(2 * b) + 1] = CodeValues[b & 15];
        }

        return torch.tensor(pairs, [256, 2], device: device).DetachFromDisposeScope();
    }

    public override Tensor Dequantize()
    {
        using var scope = torch.NewDisposeScope();
        if (_packed.device_type == DeviceType.CPU && ComputeType == ScalarType.Float32)
        {
            var output = torch.empty(Shape, dtype: ScalarType.Float32);
            Nf4Dequantizer.Dequantize(_packed, _absmax, output, _count);
            return output.MoveToOuterDisposeScope();
        }


        var values = _table.index_select(0, _packed.to(ScalarType.Int64)).view(-1, BlockSize).mul_(_absmax.unsqueeze(1));
        var weight = values.flatten().narrow(0, 0, _count).view(Shape).to(ComputeType);
        return weight.MoveToOuterDisposeScope();
    }

    public override void MoveTo(Device device)
    {
        var packed = _packed.to(device);
        var absmax = _absmax.to(device);
        var table = _table.to(device);
        if (!ReferenceEquals(packed, _packed)) _packed.Dispose();
        if (!ReferenceEquals(absmax, _absmax)) _absmax.Dispose();
        if (!ReferenceEquals(table, _table)) _table.Dispose();
        _packed = packed;
        _absmax = absmax;
        _table = table;
    }

    protected override void Dispose(bool disposing)
    {
        if (!disposing) return;
        _packed.Dispose();
        _absmax.Dispose();
        _table.Dispose();
    }
}
