using FedTune.Orchestration.Events;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;

namespace FedTune.Orchestrator.Functions;

/// <summary>
/// Uploads as events in Azure: the Event Grid subscription declared in infra/modules/uploadEvents.bicep delivers the
/// storage account's BlobCreated events for hospitals' manifests and failed-task markers to the <see cref="QueueName"/>
/// queue; this trigger turns each into the round's UploadArrived notice through the same <see cref="UploadEventRouter"/>
/// the local host's upload watcher uses, gathered by an <see cref="UploadNoticeBatcher"/> so that the uploads of a
/// round that arrive together (host.json lets many queue messages run at once) become one durable event, not one each.
/// </summary>
public sealed partial class UploadEventFunctions(ILogger<UploadEventFunctions> logger)
{
    /// <summary>The queue the Event Grid subscription writes to (infra/modules/uploadEvents.bicep, queueName).</summary>
    public const string QueueName = "upload-events";

    private static UploadNoticeBatcher? s_batcher;

    [Function("UploadEvents")]
    public async Task UploadEvents([QueueTrigger(QueueName, Connection = "AzureWebJobsStorage")] string message,
        [DurableClient] DurableTaskClient client, FunctionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var location = BlobCreatedEvent.Locate(message);
        if (location == null)
        {
            Ignored(logger);
            return;
        }
        // One batcher per worker process; the Durable client binding gives the same task hub client every time.
        var batcher = LazyInitializer.EnsureInitialized(ref s_batcher, () => new UploadNoticeBatcher(new UploadEventRouter(client), UploadNoticeBatcher.DefaultWindow));
        await batcher.NotifyAsync(location, context.CancellationToken).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Ignored an event that is not a hospital's manifest or failed-task marker")]
    private static partial void Ignored(ILogger logger);
}
