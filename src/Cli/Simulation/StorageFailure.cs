using System.Net.Sockets;
using Azure;

namespace FedTune.Cli.Simulation;

/// <summary>
/// Recognises "storage is down" in what the Azure SDK, the Durable Task client and the HTTP stack throw (a refused
/// connection, a timeout, a 5xx, the SDK's AggregateException after its own retries), and names it in one line.
/// </summary>
public static class StorageFailure
{
    /// <summary>True when <paramref name="e"/> (or every exception it aggregates) says storage could not be reached or failed transiently.</summary>
    public static bool IsOutage(Exception e) => e switch
    {
        AggregateException a => a.InnerExceptions.Count > 0 && a.InnerExceptions.All(IsOutage),
        RequestFailedException r => r.Status is 0 or 408 or 429 or >= 500 || (r.InnerException is { } inner && IsOutage(inner)),
        HttpRequestException or SocketException or TimeoutException => true,
        IOException io => io.InnerException is SocketException || io.InnerException is null,
        TaskCanceledException t => t.InnerException is TimeoutException, // HttpClient's own timeout, not the user's Ctrl+C
        _ when e.GetType().FullName == "Grpc.Core.RpcException" => true, // the Durable Task sidecar could not reach its storage
        _ => false,
    };

    /// <summary>The failure in one line (the innermost message, without the SDK's multi-line details).</summary>
    public static string Describe(Exception e)
    {
        ArgumentNullException.ThrowIfNull(e);
        var inner = e;
        while (inner is AggregateException { InnerExceptions.Count: > 0 } a) inner = a.InnerExceptions[^1];
        while (inner.InnerException is { } next && inner is RequestFailedException or HttpRequestException) inner = next;
        var text = inner.Message.Split('\n', 2)[0].Trim();
        return text.Length > 160 ? text[..157] + "..." : text;
    }
}

/// <summary>Storage stayed unreachable past the run's limit: the run stops, marked failed, and can be resumed.</summary>
public sealed class StorageUnavailableException(string message, Exception inner) : Exception(message, inner);
