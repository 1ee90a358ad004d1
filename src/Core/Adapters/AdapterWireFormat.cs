using FedTune.Core.Compression;
using FedTune.Core.Formats;

namespace FedTune.Core.Adapters;

/// <summary>
/// The single-file form of an adapter sent between agents and the orchestrator: a safetensors file with the same
/// tensors and PEFT names as <c>adapter_model.safetensors</c>, and the <c>adapter_config.json</c> text in its
/// <c>__metadata__</c> under <see cref="ConfigMetadataKey"/>. Deterministic: the same adapter gives the same bytes.
/// </summary>
public static class AdapterWireFormat
{
    public const string ConfigMetadataKey = "fedtune.adapter_config";
    public const string VersionMetadataKey = "fedtune.wire_version";
    public const string Version = "1";

    /// <summary>Writes the adapter; <paramref name="extraMetadata"/> (e.g. round, client) is added to <c>__metadata__</c>.</summary>
    public static void Write(Stream destination, LoraAdapter adapter, IReadOnlyDictionary<string, string>? extraMetadata = null)
    {
        ArgumentNullException.ThrowIfNull(adapter);
        Write(destination, adapter.Config, PeftAdapterFolder.ToSafetensors(adapter), extraMetadata);
    }

    /// <summary>Writes already-encoded tensors (e.g. F16 or int8 from <see cref="CompressedAdapterWire"/>) with the adapter's config.</summary>
    public static void Write(Stream destination, LoraAdapterConfig config, IEnumerable<SafetensorsTensor> tensors,
        IReadOnlyDictionary<string, string>? extraMetadata = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        SafetensorsWriter.Write(destination, tensors, BuildMetadata(config, extraMetadata));
    }

    /// <summary>The wire bytes.</summary>
    public static byte[] ToBytes(LoraAdapter adapter, IReadOnlyDictionary<string, string>? extraMetadata = null)
    {
        using var memory = new MemoryStream();
        Write(memory, adapter, extraMetadata);
        return memory.ToArray();
    }

    /// <summary>
    /// Reads an adapter from a seekable stream (a non-seekable one is buffered first), in any <see cref="WirePrecision"/>:
    /// F16 and int8 files are decoded to F32.
    /// </summary>
    public static LoraAdapter Read(Stream source, string sourceName = "adapter stream")
    {
        ArgumentNullException.ThrowIfNull(source);
        if (!source.CanSeek)
        {
            var buffer = new MemoryStream();
            source.CopyTo(buffer);
            buffer.Position = 0;
            source = buffer;
        }

        using var reader = SafetensorsReader.Open(source, leaveOpen: true, sourceName);
        var config = ReadConfig(reader);
        return CompressedAdapterWire.PrecisionOf(reader) == WirePrecision.Int8
            ? CompressedAdapterWire.ReadInt8(config, reader)
            : PeftAdapterFolder.FromSafetensors(config, reader);
    }

    /// <summary>The adapter config carried in a wire file's metadata.</summary>
    public static LoraAdapterConfig ReadConfig(SafetensorsReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        if (!reader.Metadata.TryGetValue(ConfigMetadataKey, out var json))
        {
            throw new AdapterFormatException(
                $"'{reader.Source}' is a safetensors file but not a FedTune adapter: its __metadata__ has no '{ConfigMetadataKey}'.");
        }

        return LoraAdapterConfig.FromJson(json, $"{reader.Source} (__metadata__.{ConfigMetadataKey})");
    }

    private static Dictionary<string, string> BuildMetadata(LoraAdapterConfig config, IReadOnlyDictionary<string, string>? extra)
    {
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        if (extra is not null)
        {
            foreach (var (key, value) in extra)
            {
                metadata[key] = value;
            }
        }

        metadata["format"] = "pt";
        metadata[ConfigMetadataKey] = config.ToJson();
        metadata[VersionMetadataKey] = Version;
        return metadata;
    }
}
