using System.Text;
using Azure.Storage.Blobs;
using FedTune.TestSupport;
using Xunit;

namespace FedTune.Core.Tests.Storage;

[Collection(AzuriteTestGroup.Name)]
public sealed class AzuriteBlobTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task A_blob_written_to_Azurite_reads_back_byte_for_byte()
    {
        var container = await azurite.NewContainerAsync("roundtrip");
        var payload = Encoding.UTF8.GetBytes("adapter bytes " + Guid.NewGuid());
        var blob = container.GetBlobClient("runs/r1/round-0001/hospital-a/adapter.safetensors");

        await blob.UploadAsync(new BinaryData(payload));
        var downloaded = await blob.DownloadContentAsync();

        Assert.Equal(payload, downloaded.Value.Content.ToArray());
        await container.DeleteAsync();
    }

    [Fact]
    public void Azurite_listens_only_on_loopback_with_its_own_data_folder()
    {
        Assert.Contains("127.0.0.1", azurite.ConnectionString, StringComparison.Ordinal);
        Assert.True(Directory.Exists(azurite.Azurite.DataDirectory));
        Assert.DoesNotContain(TestPaths.RepositoryRoot, azurite.Azurite.DataDirectory, StringComparison.Ordinal);
    }
}
