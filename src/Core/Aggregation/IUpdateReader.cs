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
}

/// <summary>An update in wire format, read with seeks from its stream.</summary>
internal sealed class WireUpdateReader : IUpdateReader
{
    private readonly Stream _stream;
    private readonly SafetensorsReader _reader;

    private WireUpdateReader(Stream stream, SafetensorsReader reader, LoraAdapterConfig config)
    {
        _stream = stream;
        _reader = reader;
        Config = config;
        Tensors = reader.Tensors.Select(t => (t.Name, t.DType, t.Shape)).ToArray();
    }

    public string Source => _reader.Source;

    public LoraAdapterConfig Config { get; }

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
            return new WireUpdateReader(stream, reader, AdapterWireFormat.ReadConfig(reader));
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
        _stream.Seek(0, SeekOrigin.Begin);
        return Convert.ToHexStringLower(SHA256.HashData(_stream));
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

    public void Dispose()
    {
    }
}
