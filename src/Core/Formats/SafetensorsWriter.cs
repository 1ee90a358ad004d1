using System.Buffers.Binary;
using System.Text.Json;

namespace FedTune.Core.Formats;

/// <summary>
/// Writes safetensors files the way the Python library lays them out: tensors ordered by dtype alignment
/// (largest element first) then name, contiguous data, a JSON header padded with spaces to a multiple of 8 bytes,
/// and an optional <c>__metadata__</c> string map. Output is deterministic, so equal input gives equal bytes.
/// </summary>
public static class SafetensorsWriter
{
    private const int HeaderAlignment = 8;

    /// <summary>Writes to <paramref name="path"/> atomically: a temporary file in the same folder, then a rename.</summary>
    public static void Write(string path, IEnumerable<SafetensorsTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        var full = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(folder);
        var temporary = Path.Combine(folder, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                Write(stream, tensors, metadata);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, full, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }

    /// <summary>Writes the file to <paramref name="destination"/> from its current position.</summary>
    public static void Write(Stream destination, IEnumerable<SafetensorsTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentNullException.ThrowIfNull(tensors);
        var ordered = Order(tensors);
        var header = BuildHeader(ordered, metadata);
        Span<byte> prefix = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)header.Length);
        destination.Write(prefix);
        destination.Write(header);
        foreach (var tensor in ordered)
        {
            destination.Write(tensor.Data.Span);
        }
    }

    /// <summary>The bytes of the file, for small payloads.</summary>
    public static byte[] ToBytes(IEnumerable<SafetensorsTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        using var memory = new MemoryStream();
        Write(memory, tensors, metadata);
        return memory.ToArray();
    }

    private static List<SafetensorsTensor> Order(IEnumerable<SafetensorsTensor> tensors)
    {
        var list = tensors.ToList();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var tensor in list)
        {
            Validate(tensor);
            if (!names.Add(tensor.Name))
            {
                throw new ArgumentException($"Tensor name '{tensor.Name}' appears twice; safetensors names must be unique.", nameof(tensors));
            }
        }

        list.Sort((a, b) =>
        {
            var bySize = SafetensorsDTypes.SizeOf(b.DType).CompareTo(SafetensorsDTypes.SizeOf(a.DType));
            return bySize != 0 ? bySize : string.CompareOrdinal(a.Name, b.Name);
        });
        return list;
    }

    private static void Validate(SafetensorsTensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (string.IsNullOrEmpty(tensor.Name) || tensor.Name == "__metadata__")
        {
            throw new ArgumentException($"'{tensor.Name}' is not a valid tensor name.", nameof(tensor));
        }

        long elements = 1;
        foreach (var dim in tensor.Shape)
        {
            if (dim < 0)
            {
                throw new ArgumentException($"Tensor '{tensor.Name}' has a negative dimension in [{string.Join(", ", tensor.Shape)}].", nameof(tensor));
            }

            elements = checked(elements * dim);
        }

        var expected = checked(elements * SafetensorsDTypes.SizeOf(tensor.DType));
        if (expected != tensor.Data.Length)
        {
            throw new ArgumentException(
                $"Tensor '{tensor.Name}' ({tensor.DType}, shape [{string.Join(", ", tensor.Shape)}]) needs {expected} bytes but has {tensor.Data.Length}.",
                nameof(tensor));
        }
    }

    private static byte[] BuildHeader(List<SafetensorsTensor> ordered, IReadOnlyDictionary<string, string>? metadata)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = false, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject("__metadata__");
                foreach (var (key, value) in metadata.OrderBy(e => e.Key, StringComparer.Ordinal))
                {
                    json.WriteString(key, value);
                }

                json.WriteEndObject();
            }

            long offset = 0;
            foreach (var tensor in ordered)
            {
                json.WriteStartObject(tensor.Name);
                json.WriteString("dtype", SafetensorsDTypes.ToHeaderString(tensor.DType));
                json.WriteStartArray("shape");
                foreach (var dim in tensor.Shape)
                {
                    json.WriteNumberValue(dim);
                }

                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                offset += tensor.Data.Length;
                json.WriteNumberValue(offset);
                json.WriteEndArray();
                json.WriteEndObject();
            }

            json.WriteEndObject();
        }

        var length = buffer.Length;
        var padded = (length + HeaderAlignment - 1) / HeaderAlignment * HeaderAlignment;
        var header = new byte[padded];
        buffer.GetBuffer().AsSpan(0, (int)length).CopyTo(header);
        header.AsSpan((int)length).Fill((byte)' ');
        return header;
    }
}
