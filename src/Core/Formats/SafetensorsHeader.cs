using System.Text.Json;

namespace FedTune.Core.Formats;

/// <summary>Parses and validates the JSON header of a safetensors file against the file's length.</summary>
internal sealed class SafetensorsHeader
{
    private const string MetadataKey = "__metadata__";

    private SafetensorsHeader(long headerLength, IReadOnlyList<SafetensorsTensorInfo> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        HeaderLength = headerLength;
        Tensors = tensors;
        Metadata = metadata;
    }

    public long HeaderLength { get; }

    public IReadOnlyList<SafetensorsTensorInfo> Tensors { get; }

    public IReadOnlyDictionary<string, string> Metadata { get; }

    public static SafetensorsHeader Read(Stream stream, string source)
    {
        stream.Seek(0, SeekOrigin.Begin);
        var fileLength = stream.Length;
        if (fileLength < 8)
        {
            throw SafetensorsFormatException.For(source, null, $"the file has {fileLength} bytes; a safetensors file starts with an 8-byte header length.");
        }

        Span<byte> prefix = stackalloc byte[8];
        stream.ReadExactly(prefix);
        var declared = SafetensorsReader.ReadHeaderLength(prefix);
        if (declared > SafetensorsReader.MaxHeaderBytes)
        {
            throw SafetensorsFormatException.For(source, null, $"the header claims {declared} bytes, more than the {SafetensorsReader.MaxHeaderBytes}-byte limit.");
        }

        var headerLength = (long)declared;
        if (headerLength < 2 || 8 + headerLength > fileLength)
        {
            throw SafetensorsFormatException.For(source, null, $"the header claims {headerLength} bytes but the file has only {fileLength - 8} after the length prefix.");
        }

        var json = new byte[headerLength];
        stream.ReadExactly(json);
        var dataStart = 8 + headerLength;
        return Parse(json, source, dataStart, fileLength - dataStart, headerLength);
    }

    private static SafetensorsHeader Parse(byte[] json, string source, long dataStart, long bufferLength, long headerLength)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException ex)
        {
            throw new SafetensorsFormatException($"Invalid safetensors file '{source}': the header is not valid JSON ({ex.Message}).", ex);
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw SafetensorsFormatException.For(source, null, "the header must be a JSON object.");
            }

            var seen = new HashSet<string>(StringComparer.Ordinal);
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var tensors = new List<(SafetensorsTensorInfo Info, long Begin, long End)>();
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (!seen.Add(property.Name))
                {
                    throw SafetensorsFormatException.For(source, property.Name, "the key appears twice in the header.");
                }

                if (property.Name == MetadataKey)
                {
                    ReadMetadata(property.Value, source, metadata);
                    continue;
                }

                tensors.Add(ReadTensor(property, source, dataStart, bufferLength));
            }

            tensors.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
            long expected = 0;
            foreach (var (info, begin, end) in tensors)
            {
                if (begin < expected)
                {
                    throw SafetensorsFormatException.For(source, info.Name, $"its bytes [{begin}, {end}) overlap the previous tensor, which ends at {expected}.");
                }

                if (begin > expected)
                {
                    throw SafetensorsFormatException.For(source, info.Name, $"there is a gap of unassigned bytes [{expected}, {begin}) before it.");
                }

                expected = end;
            }

            if (expected != bufferLength)
            {
                throw SafetensorsFormatException.For(source, null, $"the tensors cover {expected} bytes of a {bufferLength}-byte data buffer; the rest is unassigned.");
            }

            return new SafetensorsHeader(headerLength, tensors.Select(t => t.Info).ToArray(), metadata);
        }
    }

    private static void ReadMetadata(JsonElement value, string source, Dictionary<string, string> metadata)
    {
        if (value.ValueKind == JsonValueKind.Null)
        {
            return;
        }

        if (value.ValueKind != JsonValueKind.Object)
        {
            throw SafetensorsFormatException.For(source, MetadataKey, "must be an object mapping strings to strings.");
        }

        foreach (var entry in value.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.String)
            {
                throw SafetensorsFormatException.For(source, MetadataKey, $"entry '{entry.Name}' must be a string, not {entry.Value.ValueKind}.");
            }

            if (!metadata.TryAdd(entry.Name, entry.Value.GetString()!))
            {
                throw SafetensorsFormatException.For(source, MetadataKey, $"entry '{entry.Name}' appears twice.");
            }
        }
    }

    private static (SafetensorsTensorInfo Info, long Begin, long End) ReadTensor(JsonProperty property, string source, long dataStart, long bufferLength)
    {
        var name = property.Name;
        var value = property.Value;
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw SafetensorsFormatException.For(source, name, "the entry must be an object with dtype, shape and data_offsets.");
        }

        string? dtypeText = null;
        JsonElement? shapeElement = null;
        JsonElement? offsetsElement = null;
        foreach (var field in value.EnumerateObject())
        {
            switch (field.Name)
            {
                case "dtype" when dtypeText is null && field.Value.ValueKind == JsonValueKind.String:
                    dtypeText = field.Value.GetString();
                    break;
                case "shape" when shapeElement is null:
                    shapeElement = field.Value;
                    break;
                case "data_offsets" when offsetsElement is null:
                    offsetsElement = field.Value;
                    break;
                default:
                    throw SafetensorsFormatException.For(source, name, $"unexpected or repeated field '{field.Name}' (expected dtype, shape, data_offsets).");
            }
        }

        if (dtypeText is null || shapeElement is null || offsetsElement is null)
        {
            throw SafetensorsFormatException.For(source, name, "the entry needs a string dtype, a shape and data_offsets.");
        }

        if (!SafetensorsDTypes.TryParse(dtypeText, out var dtype))
        {
            throw SafetensorsFormatException.For(source, name, $"dtype '{dtypeText}' is not supported (expected one of {string.Join(", ", Enum.GetNames<SafetensorsDType>())}).");
        }

        var shape = ReadLongArray(shapeElement.Value, source, name, "shape", maxLength: 64);
        long elements = 1;
        foreach (var dim in shape)
        {
            if (dim < 0)
            {
                throw SafetensorsFormatException.For(source, name, $"shape [{string.Join(", ", shape)}] has a negative dimension.");
            }

            try
            {
                elements = checked(elements * dim);
            }
            catch (OverflowException)
            {
                throw SafetensorsFormatException.For(source, name, $"shape [{string.Join(", ", shape)}] overflows a 64-bit element count.");
            }
        }

        var offsets = ReadLongArray(offsetsElement.Value, source, name, "data_offsets", maxLength: 2);
        if (offsets.Length != 2)
        {
            throw SafetensorsFormatException.For(source, name, "data_offsets must be [begin, end].");
        }

        var (begin, end) = (offsets[0], offsets[1]);
        if (begin < 0 || end < begin || end > bufferLength)
        {
            throw SafetensorsFormatException.For(source, name, $"data_offsets [{begin}, {end}) fall outside the {bufferLength}-byte data buffer.");
        }

        long expectedBytes;
        try
        {
            expectedBytes = checked(elements * SafetensorsDTypes.SizeOf(dtype));
        }
        catch (OverflowException)
        {
            throw SafetensorsFormatException.For(source, name, $"shape [{string.Join(", ", shape)}] of {dtype} overflows a 64-bit byte count.");
        }

        if (end - begin != expectedBytes)
        {
            throw SafetensorsFormatException.For(source, name, $"{dtype} with shape [{string.Join(", ", shape)}] needs {expectedBytes} bytes but data_offsets span {end - begin}.");
        }

        return (new SafetensorsTensorInfo(name, dtype, shape, dataStart + begin, end - begin), begin, end);
    }

    private static long[] ReadLongArray(JsonElement element, string source, string tensor, string field, int maxLength)
    {
        if (element.ValueKind != JsonValueKind.Array)
        {
            throw SafetensorsFormatException.For(source, tensor, $"{field} must be an array of integers.");
        }

        var length = element.GetArrayLength();
        if (length > maxLength)
        {
            throw SafetensorsFormatException.For(source, tensor, $"{field} has {length} entries (at most {maxLength}).");
        }

        var values = new long[length];
        var i = 0;
        foreach (var item in element.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out values[i]))
            {
                throw SafetensorsFormatException.For(source, tensor, $"{field} entry {i} is not a 64-bit integer ({item.GetRawText()}).");
            }

            i++;
        }

        return values;
    }
}
