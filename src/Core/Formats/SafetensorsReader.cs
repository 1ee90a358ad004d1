using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace FedTune.Core.Formats;

/// <summary>
/// Reads a safetensors file without loading it: the header is parsed and validated on open, tensor bytes are read
/// on demand with seeks. Every structural problem (header length, offsets, dtype/shape/byte-count mismatch,
/// duplicate keys, overflow) is a <see cref="SafetensorsFormatException"/> naming the file and tensor.
/// Reads are serialized with a lock, so one reader may be shared between threads.
/// </summary>
public sealed class SafetensorsReader : IDisposable
{
    /// <summary>Largest header accepted (the Python library's bound).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    private const int CopyChunkBytes = 1 << 20;

    private readonly Stream _stream;
    private readonly bool _leaveOpen;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, SafetensorsTensorInfo> _byName;
    private bool _disposed;

    private SafetensorsReader(Stream stream, bool leaveOpen, string source, SafetensorsHeader header)
    {
        _stream = stream;
        _leaveOpen = leaveOpen;
        Source = source;
        Tensors = header.Tensors;
        Metadata = header.Metadata;
        HeaderLength = header.HeaderLength;
        _byName = header.Tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
    }

    /// <summary>The file name (or stream description) used in error messages.</summary>
    public string Source { get; }

    /// <summary>Tensors in file order (ascending data offset).</summary>
    public IReadOnlyList<SafetensorsTensorInfo> Tensors { get; }

    /// <summary>The <c>__metadata__</c> string map (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Length in bytes of the JSON header (excluding the 8-byte length prefix).</summary>
    public long HeaderLength { get; }

    /// <summary>The tensor called <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">No such tensor.</exception>
    public SafetensorsTensorInfo this[string name] =>
        _byName.TryGetValue(name, out var info)
            ? info
            : throw new KeyNotFoundException($"Safetensors file '{Source}' has no tensor named '{name}'.");

    /// <summary>Opens and validates a file; the file stays open until <see cref="Dispose"/>.</summary>
    public static SafetensorsReader Open(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.RandomAccess);
        try
        {
            return Open(stream, leaveOpen: false, path);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>Opens and validates a seekable stream.</summary>
    public static SafetensorsReader Open(Stream seekableStream, bool leaveOpen = false) =>
        Open(seekableStream, leaveOpen, DescribeStream(seekableStream));

    /// <summary>Opens and validates a seekable stream, naming it <paramref name="sourceName"/> in errors.</summary>
    public static SafetensorsReader Open(Stream seekableStream, bool leaveOpen, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(seekableStream);
        if (!seekableStream.CanSeek || !seekableStream.CanRead)
        {
            throw new ArgumentException("The safetensors reader needs a readable, seekable stream.", nameof(seekableStream));
        }

        var header = SafetensorsHeader.Read(seekableStream, sourceName);
        return new SafetensorsReader(seekableStream, leaveOpen, sourceName, header);
    }

    /// <summary>Looks a tensor up by name.</summary>
    public bool TryGet(string name, out SafetensorsTensorInfo info) => _byName.TryGetValue(name, out info!);

    /// <summary>Copies the raw little-endian bytes of a tensor into <paramref name="destination"/> (exactly its byte length).</summary>
    public void ReadBytes(string name, Span<byte> destination)
    {
        var info = this[name];
        if (destination.Length != info.ByteLength)
        {
            throw new ArgumentException(
                $"Tensor '{name}' has {info.ByteLength} bytes but the destination holds {destination.Length}.", nameof(destination));
        }

        ReadAt(info, info.DataOffset, destination);
    }

    /// <summary>The raw bytes of a tensor.</summary>
    public byte[] ReadBytes(string name)
    {
        var info = this[name];
        if (info.ByteLength > Array.MaxLength)
        {
            throw SafetensorsFormatException.For(Source, name, $"{info.ByteLength} bytes do not fit one array; read it in ranges.");
        }

        var bytes = new byte[info.ByteLength];
        ReadAt(info, info.DataOffset, bytes);
        return bytes;
    }

    /// <summary>The tensor as floats (F16, BF16 and F64 are converted).</summary>
    public float[] ReadFloat32(string name)
    {
        var info = this[name];
        if (info.ElementCount > Array.MaxLength)
        {
            throw SafetensorsFormatException.For(Source, name, $"{info.ElementCount} elements do not fit one array; read it in ranges.");
        }

        var values = new float[info.ElementCount];
        ReadFloat32(name, 0, values);
        return values;
    }

    /// <summary>
    /// Reads <paramref name="destination"/>.Length elements of a float tensor starting at element
    /// <paramref name="elementOffset"/>, converting to float. Used to stream large tensors in chunks.
    /// </summary>
    public void ReadFloat32(string name, long elementOffset, Span<float> destination)
    {
        var info = this[name];
        if (!SafetensorsDTypes.IsFloat(info.DType))
        {
            throw new InvalidOperationException(
                $"Tensor '{name}' in '{Source}' has dtype {info.DType}; only F64/F32/F16/BF16 convert to float.");
        }

        if (elementOffset < 0 || elementOffset + destination.Length > info.ElementCount)
        {
            throw new ArgumentOutOfRangeException(
                nameof(elementOffset),
                $"Elements [{elementOffset}, {elementOffset + destination.Length}) are outside tensor '{name}' ({info.ElementCount} elements).");
        }

        var size = SafetensorsDTypes.SizeOf(info.DType);
        var start = info.DataOffset + (elementOffset * size);
        if (info.DType == SafetensorsDType.F32 && BitConverter.IsLittleEndian)
        {
            ReadAt(info, start, MemoryMarshal.AsBytes(destination));
            return;
        }

        var chunkElements = CopyChunkBytes / size;
        var buffer = ArrayPool<byte>.Shared.Rent(chunkElements * size);
        try
        {
            for (var done = 0; done < destination.Length; done += chunkElements)
            {
                var count = Math.Min(chunkElements, destination.Length - done);
                var bytes = buffer.AsSpan(0, count * size);
                ReadAt(info, start + ((long)done * size), bytes);
                FloatConversions.ToFloat32(info.DType, bytes, destination.Slice(done, count));
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (!_leaveOpen)
        {
            _stream.Dispose();
        }
    }

    private void ReadAt(SafetensorsTensorInfo info, long position, Span<byte> destination)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        lock (_gate)
        {
            _stream.Seek(position, SeekOrigin.Begin);
            var filled = 0;
            while (filled < destination.Length)
            {
                var read = _stream.Read(destination[filled..]);
                if (read == 0)
                {
                    throw SafetensorsFormatException.For(Source, info.Name, "the file ended before the tensor's last byte (truncated file?).");
                }

                filled += read;
            }
        }
    }

    private static string DescribeStream(Stream stream) => stream switch
    {
        FileStream file => file.Name,
        _ => $"<{stream?.GetType().Name ?? "stream"}>",
    };

    internal static ulong ReadHeaderLength(ReadOnlySpan<byte> prefix) => BinaryPrimitives.ReadUInt64LittleEndian(prefix);
}
