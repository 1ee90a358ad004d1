using Azure.Storage.Blobs;

namespace FedTune.Cli.Simulation;

/// <summary>
/// One quick question to storage (list one container, no SDK retries, a short network timeout), so a run learns that
/// storage is down in seconds, with one line, instead of after the SDK's retries inside the orchestrator's start.
/// </summary>
public static class StorageProbe
{
    public static async Task CheckAsync(string connectionString, CancellationToken cancellationToken)
    {
        var options = new BlobClientOptions();
        options.Retry.MaxRetries = 0;
        options.Retry.NetworkTimeout = TimeSpan.FromSeconds(10);
        var client = new BlobServiceClient(connectionString, options);
        await foreach (var page in client.GetBlobContainersAsync(cancellationToken: cancellationToken).AsPages(pageSizeHint: 1).ConfigureAwait(false))
        {
            _ = page;
            break;
        }
    }
}
