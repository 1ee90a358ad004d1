using FedTune.Core.Protocol;
using FedTune.TestSupport;
using Xunit;

namespace FedTune.Orchestration.Tests.Integration;

[Collection(AzuriteTestGroup.Name)]
public sealed class BlobStoreTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task Create_once_writes_keep_the_first_value_so_replays_cannot_overwrite()
    {
        var store = BlobStore.FromConnectionString(azurite.ConnectionString);
        var blob = new BlobRef("idem-" + Guid.NewGuid().ToString("N")[..8], "x/record.json");
        Assert.True(await store.TryCreateAsync(blob, BinaryData.FromString("first")));
        Assert.False(await store.TryCreateAsync(blob, BinaryData.FromString("second")));
        Assert.Equal("first", System.Text.Encoding.UTF8.GetString((await store.TryReadAllBytesAsync(blob))!));
    }

    [Fact]
    public async Task Content_addressed_uploads_are_idempotent_and_downloads_detect_tampering()
    {
        var store = BlobStore.FromConnectionString(azurite.ConnectionString);
        var container = "ca-" + Guid.NewGuid().ToString("N")[..8];
        var bytes = new byte[] { 1, 2, 3, 4, 5 };
        var first = await store.UploadContentAddressedAsync(bytes, sha => new BlobRef(container, $"a-{sha}.bin"));
        var second = await store.UploadContentAddressedAsync(new NonSeekableStream(bytes), sha => new BlobRef(container, $"a-{sha}.bin"));
        Assert.Equal(first, second);
        Assert.Equal(ContentHash.Compute(bytes), first.Sha256);

        await store.Blob(first.Blob).UploadAsync(BinaryData.FromBytes([9, 9, 9, 9, 9]), overwrite: true);
        await Assert.ThrowsAsync<ContentHashMismatchException>(() => store.DownloadVerifiedAsync(first, new MemoryStream()));
    }

    private sealed class NonSeekableStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;
    }
}
