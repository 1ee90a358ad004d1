using System.Globalization;
using System.Runtime.InteropServices;
using FedTune.Core.Adapters;
using FedTune.Core.Formats;

namespace FedTune.Core.SecureAggregation;

/// <summary>
/// A hospital's masked upload: one I64 safetensors tensor holding the masked ring elements (every adapter value times
/// the hospital's FedAvg weight, then the weight, fixed-point encoded and masked), with the adapter config and the
/// tensor layout (names and shapes, in order) in <c>__metadata__</c> so the server can shape the unmasked mean.
/// Without the other hospitals' masks and the reveal, the values are uniformly random.
/// </summary>
public static class MaskedUpdateWire
{
    public const string TensorName = "fedtune.secagg.masked";
    public const string LayoutMetadataKey = "fedtune.secagg_layout";

    /// <summary>The adapter's values in its tensor order (the order the layout lists).</summary>
    public static float[] Flatten(LoraAdapter adapter)
    {
        ArgumentNullException.ThrowIfNull(adapter);
        return adapter.Tensors.SelectMany(t => t.Data).ToArray();
    }

    public static byte[] ToBytes(LoraAdapter shapeOf, ulong[] masked)
    {
        ArgumentNullException.ThrowIfNull(shapeOf);
        ArgumentNullException.ThrowIfNull(masked);
        var layout = string.Join(";", shapeOf.Tensors.Select(t => t.Name + ":" + string.Join(",", t.Shape.Select(d => d.ToString(CultureInfo.InvariantCulture)))));
        using var memory = new MemoryStream();
        AdapterWireFormat.Write(memory, shapeOf.Config,
            [new SafetensorsTensor(TensorName, SafetensorsDType.I64, [masked.LongLength], MemoryMarshal.AsBytes(masked.AsSpan()).ToArray())],
            new Dictionary<string, string>(StringComparer.Ordinal) { [LayoutMetadataKey] = layout });
        return memory.ToArray();
    }

    /// <summary>The masked values and an all-zero adapter with the upload's config and layout (to be filled with the unmasked mean).</summary>
    public static (ulong[] Masked, LoraAdapter Shape) Read(Stream source, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(source);
        using var reader = SafetensorsReader.Open(source, leaveOpen: true, sourceName);
        var config = AdapterWireFormat.ReadConfig(reader);
        if (!reader.Metadata.TryGetValue(LayoutMetadataKey, out var layout) || !reader.TryGet(TensorName, out var info) || info.DType != SafetensorsDType.I64)
        {
            throw new AdapterFormatException($"'{sourceName}' is not a masked secure-aggregation upload (no {TensorName} I64 tensor with a {LayoutMetadataKey}).");
        }

        var tensors = new List<LoraTensor>();
        foreach (var entry in layout.Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            var colon = entry.LastIndexOf(':');
            var shape = entry[(colon + 1)..].Split(',').Select(d => long.Parse(d, CultureInfo.InvariantCulture)).ToArray();
            tensors.Add(new LoraTensor(entry[..colon], shape, new float[shape.Aggregate(1L, (a, b) => a * b)]));
        }

        var masked = new ulong[info.ElementCount];
        reader.ReadBytes(TensorName, MemoryMarshal.AsBytes(masked.AsSpan()));
        if (masked.LongLength != tensors.Sum(t => (long)t.Data.Length) + 1)
        {
            throw new AdapterFormatException($"'{sourceName}': {masked.Length} masked values do not match its layout ({tensors.Sum(t => (long)t.Data.Length)} values and the weight).");
        }

        return (masked, new LoraAdapter(config, tensors, sourceName));
    }

    /// <summary>The adapter shaped like <paramref name="shape"/> holding <paramref name="flat"/> in tensor order.</summary>
    public static LoraAdapter Unflatten(LoraAdapter shape, float[] flat)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(flat);
        var offset = 0;
        return shape.With(t =>
        {
            var values = flat.AsSpan(offset, t.Data.Length).ToArray();
            offset += t.Data.Length;
            return values;
        });
    }
}
