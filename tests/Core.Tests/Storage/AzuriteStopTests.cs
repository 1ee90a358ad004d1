using System.Text;
using Azure.Storage.Blobs;
using FedTune.Core.Storage;
using Xunit;

namespace FedTune.Core.Tests.Storage;

/// <summary>
/// Stopping the private Azurite keeps every write it acknowledged: a run's last blobs (the final round's
/// evaluation, written a moment before simulate stops storage) are there when the same data folder is served
/// again, as <c>fedtune report</c> and a resumed run do. Azurite saves its metadata only every 5 s, so a SIGKILL
/// stop would lose them.
/// </summary>
public sealed class AzuriteStopTests : IDisposable
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "fedtune-azurite-stop-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_data)) Directory.Delete(_data, recursive: true);
    }

    [Fact]
    public async Task A_blob_written_just_before_dispose_is_there_when_the_same_folder_is_served_again()
    {
        var payload = Encoding.UTF8.GetBytes("round 3 evaluation " + Guid.NewGuid());
        using (var first = await AzuriteProcess.StartAsync(_data))
        {
            var container = new BlobContainerClient(first.ConnectionString, "global");
            await container.CreateIfNotExistsAsync();
            await container.GetBlobClient("runs/r1/evaluations/round-0003.json").UploadAsync(new BinaryData(payload));
        }

        using var second = await AzuriteProcess.StartAsync(_data);
        var blob = new BlobContainerClient(second.ConnectionString, "global").GetBlobClient("runs/r1/evaluations/round-0003.json");
        Assert.True((await blob.ExistsAsync()).Value, "the blob acknowledged before the stop is gone after a restart on the same data folder");
        Assert.Equal(payload, (await blob.DownloadContentAsync()).Value.Content.ToArray());
    }
}
