using FedTune.Core.Adapters;

namespace FedTune.Core.Aggregation;

/// <summary>
/// One client's update for a round: the client's full adapter after local training (not a delta), how many
/// training examples it used (the FedAvg weight), and the SHA-256 its manifest claims for the wire bytes.
/// The adapter is opened on demand, so a round never holds more updates in memory than a strategy needs.
/// </summary>
public sealed class ClientUpdate
{
    private readonly Func<Stream>? _openWire;
    private readonly Func<LoraAdapter>? _loadAdapter;

    private ClientUpdate(string clientId, double exampleCount, string? manifestSha256, Func<Stream>? openWire, Func<LoraAdapter>? loadAdapter, bool hashCheckedOnArrival = false)
    {
        HashCheckedOnArrival = hashCheckedOnArrival;
        ArgumentException.ThrowIfNullOrWhiteSpace(clientId);
        ClientId = clientId;
        ExampleCount = exampleCount;
        ManifestSha256 = manifestSha256;
        _openWire = openWire;
        _loadAdapter = loadAdapter;
    }

    public string ClientId { get; }

    /// <summary>Training examples behind the update; FedAvg weights by it. Must be positive and finite.</summary>
    public double ExampleCount { get; }

    /// <summary>SHA-256 (hex) of the wire bytes as written in the client's manifest; null when there is none.</summary>
    public string? ManifestSha256 { get; }

    /// <summary>
    /// An update read from wire-format bytes (<see cref="AdapterWireFormat"/>), e.g. a blob download stream.
    /// <paramref name="openWire"/> is called once per pass and must return a new readable stream each time
    /// (seekable streams are read in place; others are buffered).
    /// </summary>
    public static ClientUpdate FromWire(string clientId, double exampleCount, Func<Stream> openWire, string? manifestSha256 = null)
    {
        ArgumentNullException.ThrowIfNull(openWire);
        return new ClientUpdate(clientId, exampleCount, manifestSha256, openWire, null);
    }

    /// <summary>
    /// An update whose wire bytes were already hashed as they arrived and matched <paramref name="manifestSha256"/>
    /// (e.g. a blob download that hashes while it streams into a local file): validation does not hash them again.
    /// </summary>
    public static ClientUpdate FromCheckedWire(string clientId, double exampleCount, Func<Stream> openWire, string manifestSha256)
    {
        ArgumentNullException.ThrowIfNull(openWire);
        ArgumentException.ThrowIfNullOrWhiteSpace(manifestSha256);
        return new ClientUpdate(clientId, exampleCount, manifestSha256, openWire, null, hashCheckedOnArrival: true);
    }

    /// <summary>True when the wire bytes' SHA-256 was checked against the manifest as they arrived (<see cref="FromCheckedWire"/>).</summary>
    public bool HashCheckedOnArrival { get; }

    /// <summary>An update from an in-memory adapter, loaded on demand by <paramref name="loadAdapter"/>.</summary>
    public static ClientUpdate FromAdapter(string clientId, double exampleCount, Func<LoraAdapter> loadAdapter, string? manifestSha256 = null)
    {
        ArgumentNullException.ThrowIfNull(loadAdapter);
        return new ClientUpdate(clientId, exampleCount, manifestSha256, null, loadAdapter);
    }

    /// <summary>True for an update read from wire bytes (<see cref="FromWire"/>).</summary>
    internal bool IsWire => _openWire is not null;

    /// <summary>A new stream over the wire bytes (only for <see cref="IsWire"/> updates).</summary>
    internal Stream OpenWire() => _openWire!();

    internal IUpdateReader Open() =>
        _openWire is not null
            ? WireUpdateReader.Open(_openWire(), ClientId)
            : new AdapterUpdateReader(_loadAdapter!(), ClientId);
}
