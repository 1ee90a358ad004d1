using System.Globalization;
using System.Runtime.InteropServices;
using FedTune.Core.Adapters;
using FedTune.Core.Formats;

namespace FedTune.Core.Compression;

/// <summary>
/// The adapter wire format (<see cref="AdapterWireFormat"/>) in a chosen <see cref="WirePrecision"/>. F32 is the plain
/// wire file. F16 stores every tensor as F16. Int8 stores each tensor as I8 codes under its own name and its block
/// scales as F32 under <c>name + <see cref="AbsmaxSuffix"/></c>; <c>__metadata__</c> names the precision and block size.
/// <see cref="AdapterWireFormat.Read"/> decodes all three, so every reader of an adapter accepts them.
/// </summary>
public static class CompressedAdapterWire
{
    public const string PrecisionMetadataKey = "fedtune.wire_precision";
    public const string BlockSizeMetadataKey = "fedtune.int8_block_size";
    public const string AbsmaxSuffix = ".absmax";

    /// <summary>The wire bytes of <paramref name="adapter"/> in <paramref name="precision"/>; int8 rounding is drawn from <paramref name="seed"/>.</summary>
    public static byte[] ToBytes(LoraAdapter adapter, WirePrecision precision, long seed)
    {
        ArgumentNullException.ThrowIfNull(adapter);
        if (precision == WirePrecision.Fp32)
        {
            return AdapterWireFormat.ToBytes(adapter);
        }

        var metadata = new Dictionary<string, string>(StringComparer.Ordinal) { [PrecisionMetadataKey] = WirePrecisions.Name(precision) };
        IEnumerable<SafetensorsTensor> tensors;
        if (precision == WirePrecision.Fp16)
        {
            tensors = adapter.Tensors.Select(t => SafetensorsTensor.FromFloat32AsFloat16(t.Name, t.Shape, t.Data));
        }
        else
        {
            metadata[BlockSizeMetadataKey] = Int8BlockQuantizer.BlockSize.ToString(CultureInfo.InvariantCulture);
            var state = unchecked((ulong)seed);
            var list = new List<SafetensorsTensor>();
            foreach (var tensor in adapter.Tensors)
            {
                var codes = new sbyte[tensor.Data.Length];
                var absmax = new float[Int8BlockQuantizer.BlockCount(codes.Length)];
                Int8BlockQuantizer.Quantize(tensor.Data, codes, absmax, ref state);
                list.Add(new SafetensorsTensor(tensor.Name, SafetensorsDType.I8, tensor.Shape, MemoryMarshal.AsBytes(codes.AsSpan()).ToArray()));
                list.Add(SafetensorsTensor.FromFloat32(tensor.Name + AbsmaxSuffix, [absmax.Length], absmax));
            }

            tensors = list;
        }

        using var memory = new MemoryStream();
        AdapterWireFormat.Write(memory, adapter.Config, tensors, metadata);
        return memory.ToArray();
    }

    /// <summary>The precision a wire file declares (F32 when it declares none).</summary>
    public static WirePrecision PrecisionOf(SafetensorsReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        if (!reader.Metadata.TryGetValue(PrecisionMetadataKey, out var text))
        {
            return WirePrecision.Fp32;
        }

        return WirePrecisions.TryParse(text, out var precision)
            ? precision
            : throw new AdapterFormatException($"'{reader.Source}': __metadata__.{PrecisionMetadataKey} is '{text}'; expected fp32, fp16 or int8.");
    }

    /// <summary>Decodes an int8 wire file's tensors to F32 (PEFT names normalised).</summary>
    public static LoraAdapter ReadInt8(LoraAdapterConfig config, SafetensorsReader reader)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(reader);
        if (!reader.Metadata.TryGetValue(BlockSizeMetadataKey, out var block) ||
            block != Int8BlockQuantizer.BlockSize.ToString(CultureInfo.InvariantCulture))
        {
            throw new AdapterFormatException(
                $"'{reader.Source}': int8 block size '{block}' is not {Int8BlockQuantizer.BlockSize}; the sender runs another FedTune version.");
        }

        var tensors = new List<LoraTensor>();
        foreach (var info in reader.Tensors.Where(t => !t.Name.EndsWith(AbsmaxSuffix, StringComparison.Ordinal)).OrderBy(t => t.Name, StringComparer.Ordinal))
        {
            if (info.DType != SafetensorsDType.I8 || !reader.TryGet(info.Name + AbsmaxSuffix, out var scales) ||
                scales.DType != SafetensorsDType.F32 || scales.ElementCount != Int8BlockQuantizer.BlockCount(checked((int)info.ElementCount)))
            {
                throw new AdapterFormatException(
                    $"'{reader.Source}': tensor '{info.Name}' is not int8 codes with a matching F32 '{info.Name}{AbsmaxSuffix}'.");
            }

            var codes = MemoryMarshal.Cast<byte, sbyte>(reader.ReadBytes(info.Name).AsSpan());
            var values = new float[info.ElementCount];
            Int8BlockQuantizer.Dequantize(codes, reader.ReadFloat32(scales.Name), values);
            tensors.Add(new LoraTensor(PeftKeys.Normalize(info.Name), (long[])info.Shape.Clone(), values));
        }

        return new LoraAdapter(config, tensors, reader.Source);
    }
}
