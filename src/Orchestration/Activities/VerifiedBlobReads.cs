using FedTune.Core.Adapters;
using FedTune.Core.Protocol;

namespace FedTune.Orchestration.Activities;

/// <summary>Whole-blob reads the aggregation activities share: SHA-256 and size checked against the reference.</summary>
internal static class VerifiedBlobReads
{
    public static async Task<byte[]> ReadVerifiedBytesAsync(this BlobStore store, ContentRef content, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        await store.DownloadVerifiedAsync(content, buffer, cancellationToken).ConfigureAwait(false);
        return buffer.ToArray();
    }

    public static async Task<LoraAdapter> ReadVerifiedAdapterAsync(this BlobStore store, ContentRef content, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream(await store.ReadVerifiedBytesAsync(content, cancellationToken).ConfigureAwait(false), writable: false);
        return AdapterWireFormat.Read(buffer, content.Blob.ToString());
    }
}
