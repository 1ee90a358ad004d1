using FedTune.Core.Adapters;
using FedTune.Core.Formats;
using System.Security.Cryptography;

namespace FedTune.Core.Aggregation;

/// <summary>Read access to one opened update: its header, its values by tensor range, and its wire hash.</summary>
internal interface IUpdateReader : IDisposable
{
    string Source { get; }

    LoraAdapterConfig Config { get; }

    IReadOnlyList<(string Name, SafetensorsDType DType, long[] Shape)> Tensors { get; }

    /// <summary>Reads elements [offset, offset + destination.Length) of a tensor as floats.</summary>
    void Read(string tensor, long offset, Span<float> destination);

    /// <summary>SHA-256 (lowercase hex) of the update's wire bytes.</summary>
    string ComputeSha256();

    /// <summary>
    /// One sequential pass over the whole update: every tensor in file order, in chunks of at most
    /// <paramref name="chunkElements"/> floats (name, element offset, values), while hashing every byte.
    /// Returns the SHA-256 (lowercase hex) of the wire bytes. Only for F32 updates.
    /// </summary>
    string Scan(int chunkElements, Action<string, int, ReadOnlySpan<float>> visit);
}

/// <summary>An update in wire format, read with seeks from its stream.</summary>
internal sealed class WireUpdateReader : IUpdateReader
{
    private readonly Stream _stream;
    private readonly SafetensorsReader _reader;
    private readonly string? _compressedWireSha256;
    private LoraAdapterConfig? _config;

    private WireUpdateReader(Stream stream, SafetensorsReader reader, string? compressedWireSha256 = null)
    {
        _stream = stream;
        _reader = reader;
        _compressedWireSha256 = compressedWireSha256;
        Tensors = reader.Tensors.Select(t => (t.Name, t.DType, t.Shape)).ToArray();
    }

    public string Source => _reader.Source;

    /// <summary>Parsed on first use: validation needs it, the averaging passes do not.</summary>
    public LoraAdapterConfig Config => _config ??= AdapterWireFormat.ReadConfig(_reader);

    public IReadOnlyList<(string Name, SafetensorsDType DType, long[] Shape)> Tensors { get; }

    public static WireUpdateReader Open(Stream stream, string clientId)
    {
        if (!stream.CanSeek)
        {
            var buffer = new MemoryStream();
            using (stream)
            {
                stream.CopyTo(buffer);
            }

            stream = buffer;
        }

        try
        {
            var reader = SafetensorsReader.Open(stream, leaveOpen: true, $"update from {clientId}");
            if (!reader.Metadata.ContainsKey(AdapterWireFormat.ConfigMetadataKey))
            {
                AdapterWireFormat.ReadConfig(reader); // throws the "not a FedTune adapter" error
            }

            if (Compression.CompressedAdapterWire.PrecisionOf(reader) == Compression.WirePrecision.Fp32)
            {
                return new WireUpdateReader(stream, reader);
            }

            // An F16 or int8 upload is decoded once to the F32 wire form the validator and strategies read; its hash
            // stays the hash of the bytes the hospital sent.
            stream.Seek(0, SeekOrigin.Begin);
            var sentSha256 = Convert.ToHexStringLower(SHA256.HashData(stream));
            stream.Seek(0, SeekOrigin.Begin);
            var decoded = new MemoryStream(AdapterWireFormat.ToBytes(AdapterWireFormat.Read(stream, reader.Source)), writable: false);
            reader.Dispose();
            stream.Dispose();
            stream = decoded;
            return new WireUpdateReader(decoded, SafetensorsReader.Open(decoded, leaveOpen: true, $"update from {clientId}"), sentSha256);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    public void Read(string tensor, long offset, Span<float> destination) => _reader.ReadFloat32(tensor, offset, destination);

    public string ComputeSha256()
    {
        if (_compressedWireSha256 is not null)
        {
            return _compressedWireSha256;
        }

        _stream.Seek(0, SeekOrigin.Begin);
        return Convert.ToHexStringLower(SHA256.HashData(_stream));
    }

    public string Scan(int chunkElements, Action<string, int, ReadOnlySpan<float>> visit)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[Math.Max(chunkElements * sizeof(float), 1 << 16)];
        _stream.Seek(0, SeekOrigin.Begin);
        var headerBytes = 8 + _reader.HeaderLength;
        for (long done = 0; done < headerBytes;)
        {
            var count = (int)Math.Min(buffer.Length, headerBytes - done);
            _stream.ReadExactly(buffer, 0, count);
            hash.AppendData(buffer, 0, count);
            done += count;
        }

        // The header check guarantees the tensors tile the data buffer in this order, so reading them one after
        // another consumes (and hashes) every remaining byte of the file.
        var floats = new float[chunkElements];
        foreach (var tensor in _reader.Tensors)
        {
            var elements = (int)tensor.ElementCount;
            for (var offset = 0; offset < elements; offset += chunkElements)
            {
                var count = Math.Min(chunkElements, elements - offset);
                var bytes = buffer.AsSpan(0, count * sizeof(float));
                _stream.ReadExactly(bytes);
                hash.AppendData(bytes);
                System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes).CopyTo(floats);
                visit(tensor.Name, offset, floats.AsSpan(0, count));
            }
        }

        var decodedSha256 = Convert.ToHexStringLower(hash.GetHashAndReset());
        return _compressedWireSha256 ?? decodedSha256;
    }

    public void Dispose()
    {
        _reader.Dispose();
        _stream.Dispose();
    }
}

/// <summary>An update held as an in-memory adapter.</summary>
internal sealed class AdapterUpdateReader(LoraAdapter adapter, string clientId) : IUpdateReader
{
    public string Source { get; } = $"update from {clientId}";

    public LoraAdapterConfig Config => adapter.Config;

    public IReadOnlyList<(string Name, SafetensorsDType DType, long[] Shape)> Tensors { get; } =
        adapter.Tensors.Select(t => (t.Name, SafetensorsDType.F32, t.Shape)).ToArray();

    public void Read(string tensor, long offset, Span<float> destination) =>
        adapter[tensor].Data.AsSpan(checked((int)offset), destination.Length).CopyTo(destination);

    public string ComputeSha256() => AdapterHash.Sha256(adapter);

    public string Scan(int chunkElements, Action<string, int, ReadOnlySpan<float>> visit)
    {
        foreach (var tensor in adapter.Tensors)
        {
            for (var offset = 0; offset < tensor.Data.Length; offset += chunkElements)
            {
                visit(tensor.Name, offset, tensor.Data.AsSpan(offset, Math.Min(chunkElements, tensor.Data.Length - offset)));
            }
        }

        return ComputeSha256();
    }

    public void Dispose()
    {
    }
}
