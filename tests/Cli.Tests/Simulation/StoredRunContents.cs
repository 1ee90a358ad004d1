using System.Text;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Queues;

namespace FedTune.Cli.Tests.Simulation;

/// <summary>One thing the storage account holds: a blob, one property of a table entity, or a queue message.</summary>
internal sealed record StoredItem(string Where, byte[] Bytes);

/// <summary>
/// Everything a storage account holds, as a curious cloud operator would read it: every blob of every container (the
/// protocol's blobs and the Durable Task hub's lease and large-message containers), every property of every entity of
/// every table (the task hub's History and Instances tables: the orchestration's inputs, outputs and activity payloads)
/// and every message still in a queue.
/// </summary>
internal static class StoredRunContents
{
    public static async Task<IReadOnlyList<StoredItem>> ReadAllAsync(string connectionString)
    {
        var items = new List<StoredItem>();
        var blobs = new BlobServiceClient(connectionString);
        await foreach (var container in blobs.GetBlobContainersAsync())
        {
            var client = blobs.GetBlobContainerClient(container.Name);
            var hidden = 0;
            await foreach (var blob in client.GetBlobsAsync(new GetBlobsOptions { States = BlobStates.All }))
            {
                if (blob.Deleted || blob.Snapshot is not null || blob.VersionId is not null && blob.IsLatestVersion != true)
                {
                    hidden++;
                    continue;
                }

                var content = await client.GetBlobClient(blob.Name).DownloadContentAsync();
                items.Add(new StoredItem($"blob {container.Name}/{blob.Name}", content.Value.Content.ToArray()));
            }

            if (hidden > 0) throw new InvalidOperationException($"Container {container.Name} holds {hidden} deleted blobs, snapshots or old versions this scan does not read.");
        }

        var tables = new TableServiceClient(connectionString);
        await foreach (var table in tables.QueryAsync())
        {
            await foreach (var entity in tables.GetTableClient(table.Name).QueryAsync<TableEntity>())
            {
                foreach (var (key, value) in entity)
                {
                    items.Add(new StoredItem($"table {table.Name} {entity.PartitionKey}/{entity.RowKey} {key}", ValueBytes(value)));
                }
            }
        }

        var queues = new QueueServiceClient(connectionString);
        await foreach (var queue in queues.GetQueuesAsync())
        {
            foreach (var message in (await queues.GetQueueClient(queue.Name).PeekMessagesAsync(32)).Value)
            {
                items.Add(new StoredItem($"queue {queue.Name} {message.MessageId}", message.Body.ToArray()));
            }
        }

        return items;
    }

    private static byte[] ValueBytes(object? value) => value switch
    {
        null => [],
        byte[] bytes => bytes,
        BinaryData data => data.ToArray(),
        string text => Encoding.UTF8.GetBytes(text),
        _ => Encoding.UTF8.GetBytes(Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? ""),
    };
}
