using System.Collections.Concurrent;
using System.Diagnostics.Tracing;
using System.Globalization;

namespace FedTune.Cli.Bench;

/// <summary>
/// Counts the storage requests this process sends (every Azure SDK client: the protocol's blobs, and the Durable Task
/// provider's queues and tables), from the Azure SDK's own request events, by service and method. The benchmark prints
/// them per round: with one emulator serving all of them, requests per round over the emulator's request rate is what
/// bounds a round.
/// </summary>
public sealed class StorageRequestCounter : EventListener
{
    private const string AzureCoreSource = "Azure-Core";

    /// <summary>The Azure SDK application id the benchmark's fake hospitals send (in User-Agent), so their requests count apart.</summary>
    public const string FleetApplicationId = "fedtune-bench-fleet";
    private readonly ConcurrentDictionary<string, long> _counts = new(StringComparer.Ordinal);

    /// <summary>A copy of the counts so far: "blob GET", "blob LIST", "queue DELETE", "table POST", "hospitals:blob PUT", ...</summary>
    public IReadOnlyDictionary<string, long> Snapshot() => new Dictionary<string, long>(_counts, StringComparer.Ordinal);

    /// <summary>"blob 5,210 (GET 3,100, PUT 2,010, ...), queue 300, table 120" for the requests between two snapshots.</summary>
    public static string Describe(IReadOnlyDictionary<string, long> before, IReadOnlyDictionary<string, long> after)
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        var delta = after.Select(p => (Key: p.Key, Count: p.Value - before.GetValueOrDefault(p.Key))).Where(p => p.Count > 0).ToArray();
        var services = delta.GroupBy(p => p.Key.Split(' ')[0], StringComparer.Ordinal).OrderByDescending(g => g.Sum(p => p.Count));
        return string.Join(", ", services.Select(g => string.Create(CultureInfo.InvariantCulture,
            $"{g.Key} {g.Sum(p => p.Count):N0} ({string.Join(", ", g.OrderByDescending(p => p.Count).Select(p => $"{p.Key.Split(' ')[1]} {p.Count:N0}"))})")));
    }

    /// <summary>Requests between two snapshots: the orchestrator's (host, watcher, activities) and the fake hospitals'.</summary>
    public static (long Orchestrator, long Hospitals) Totals(IReadOnlyDictionary<string, long> before, IReadOnlyDictionary<string, long> after)
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        long hospitals = after.Where(p => p.Key.StartsWith("hospitals:", StringComparison.Ordinal)).Sum(p => p.Value - before.GetValueOrDefault(p.Key));
        return (after.Sum(p => p.Value - before.GetValueOrDefault(p.Key)) - hospitals, hospitals);
    }

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        ArgumentNullException.ThrowIfNull(eventSource);
        if (eventSource.Name == AzureCoreSource) EnableEvents(eventSource, EventLevel.Informational);
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        ArgumentNullException.ThrowIfNull(eventData);
        if (eventData.EventName != "Request" || eventData.PayloadNames == null || eventData.Payload == null) return;
        string? method = null, assembly = null, uri = null, headers = null;
        for (int i = 0; i < eventData.PayloadNames.Count; i++)
        {
            switch (eventData.PayloadNames[i])
            {
                case "method": method = eventData.Payload[i] as string; break;
                case "clientAssembly": assembly = eventData.Payload[i] as string; break;
                case "uri": uri = eventData.Payload[i] as string; break;
                case "headers": headers = eventData.Payload[i] as string; break;
            }
        }
        if (uri != null && uri.Contains("comp=list", StringComparison.Ordinal)) method = "LIST";
        var service = assembly switch
        {
            null => "other",
            _ when assembly.Contains("Blobs", StringComparison.Ordinal) => "blob",
            _ when assembly.Contains("Queues", StringComparison.Ordinal) => "queue",
            _ when assembly.Contains("Tables", StringComparison.Ordinal) => "table",
            _ => "other",
        };
        if (headers != null && headers.Contains(FleetApplicationId, StringComparison.Ordinal)) service = "hospitals:" + service;
        _counts.AddOrUpdate(service + " " + (method ?? "?"), 1, (_, n) => n + 1);
    }
}
