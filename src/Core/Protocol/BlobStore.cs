using System.Runtime.CompilerServices;
using Azure;
using Azure.Core;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;

namespace FedTune.Core.Protocol;

/// <summary>
/// The protocol's storage operations over Azure Blob Storage. Every write is create-if-absent
/// (<c>If-None-Match: *</c>) or content-addressed, so a replayed activity or a re-uploading agent never
/// overwrites anything. Works with a connection string (Azurite) or an endpoint plus a
/// <see cref="TokenCredential"/> (DefaultAzureCredential, managed identity); never needs an account key.
/// </summary>
public sealed class BlobStore
{
    private readonly HashSet<string> _knownContainers = new(StringComparer.Ordinal);

    public BlobStore(BlobServiceClient service)
    {
        ArgumentNullException.ThrowIfNull(service);
        Service = service;
    }

    public BlobServiceClient Service { get; }

    /// <summary>For Azurite or a development account (<c>UseDevelopmentStorage=true</c> included).</summary>
    public static BlobStore FromConnectionString(string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        return new BlobStore(new BlobServiceClient(connectionString));
    }

    /// <summary>For a real account with Entra ID: e.g. <c>https://acct.blob.core.windows.net</c> and DefaultAzureCredential.</summary>
    public static BlobStore FromEndpoint(Uri blobServiceUri, TokenCredential credential)
    {
        ArgumentNullException.ThrowIfNull(blobServiceUri);
        ArgumentNullException.ThrowIfNull(credential);
        return new BlobStore(new BlobServiceClient(blobServiceUri, credential));
    }

    public BlobClient Blob(BlobRef blob)
    {
        ArgumentNullException.ThrowIfNull(blob);
        return Service.GetBlobContainerClient(blob.Container).GetBlobClient(blob.Name);
    }

    /// <summary>Creates the container when it does not exist (remembered per instance, so cheap to call often).</summary>
    public async Task EnsureContainerAsync(string container, CancellationToken cancellationToken = default)
    {
        lock (_knownContainers)
        {
            if (_knownContainers.Contains(container)) return;
        }
        await Service.GetBlobContainerClient(container).CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        lock (_knownContainers) _knownContainers.Add(container);
    }

    /// <summary>Writes <paramref name="content"/> only if the blob does not exist yet; false when it already did.</summary>
    public async Task<bool> TryCreateAsync(BlobRef blob, BinaryData content, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        await EnsureContainerAsync(blob.Container, cancellationToken).ConfigureAwait(false);
        try
        {
            await Blob(blob).UploadAsync(content, new BlobUploadOptions
            {
                Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All },
            }, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (RequestFailedException e) when (e.Status is 409 or 412)
        {
            return false;
        }
    }

    /// <summary>Writes a protocol record once; false when a record was already there (the first one wins).</summary>
    public Task<bool> TryCreateJsonAsync<T>(BlobRef blob, T record, CancellationToken cancellationToken = default) =>
        TryCreateAsync(blob, new BinaryData(ProtocolJson.Serialize(record)), cancellationToken);

    /// <summary>Reads a protocol record, or null when the blob does not exist.</summary>
    public async Task<T?> TryReadJsonAsync<T>(BlobRef blob, CancellationToken cancellationToken = default) where T : class
    {
        var bytes = await TryReadAllBytesAsync(blob, cancellationToken).ConfigureAwait(false);
        return bytes == null ? null : ProtocolJson.Deserialize<T>(bytes, blob.ToString());
    }

    /// <summary>The blob's bytes, or null when it does not exist.</summary>
    public async Task<byte[]?> TryReadAllBytesAsync(BlobRef blob, CancellationToken cancellationToken = default)
    {
        try
        {
            var result = await Blob(blob).DownloadContentAsync(cancellationToken).ConfigureAwait(false);
            return result.Value.Content.ToArray();
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
    }

    public async Task<bool> ExistsAsync(BlobRef blob, CancellationToken cancellationToken = default)
    {
        try
        {
            return (await Blob(blob).ExistsAsync(cancellationToken).ConfigureAwait(false)).Value;
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return false;
        }
    }

    /// <summary>Opens a blob for streaming reads.</summary>
    public async Task<Stream> OpenReadAsync(BlobRef blob, CancellationToken cancellationToken = default) =>
        await Blob(blob).OpenReadAsync(new BlobOpenReadOptions(allowModifications: false), cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// Uploads <paramref name="content"/> under a name derived from its SHA-256 (<paramref name="nameForHash"/>), once:
    /// uploading the same bytes again is a no-op that returns the same reference.
    /// </summary>
    public async Task<ContentRef> UploadContentAddressedAsync(Stream content, Func<string, BlobRef> nameForHash,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        ArgumentNullException.ThrowIfNull(nameForHash);
        Stream source = content;
        string? tempFile = null;
        try
        {
            if (!content.CanSeek)
            {
                tempFile = Path.GetTempFileName();
                var copy = new FileStream(tempFile, FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.DeleteOnClose);
                await content.CopyToAsync(copy, cancellationToken).ConfigureAwait(false);
                source = copy;
            }
            source.Position = 0;
            string sha = await ContentHash.ComputeAsync(source, cancellationToken).ConfigureAwait(false);
            long length = source.Length;
            var blob = nameForHash(sha);
            await EnsureContainerAsync(blob.Container, cancellationToken).ConfigureAwait(false);
            source.Position = 0;
            try
            {
                await Blob(blob).UploadAsync(source, new BlobUploadOptions
                {
                    Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All },
                }, cancellationToken).ConfigureAwait(false);
            }
            catch (RequestFailedException e) when (e.Status is 409 or 412)
            {
                // Same name means same content: an earlier attempt already stored it.
            }
            return new ContentRef(blob, sha, length);
        }
        finally
        {
            if (!ReferenceEquals(source, content)) await source.DisposeAsync().ConfigureAwait(false);
            if (tempFile != null) File.Delete(tempFile);
        }
    }

    /// <summary>Content-addressed upload of bytes already in memory.</summary>
    public async Task<ContentRef> UploadContentAddressedAsync(ReadOnlyMemory<byte> content, Func<string, BlobRef> nameForHash,
        CancellationToken cancellationToken = default)
    {
        using var stream = new MemoryStream(content.ToArray(), writable: false);
        return await UploadContentAddressedAsync(stream, nameForHash, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Downloads a content blob into <paramref name="destination"/> and checks its SHA-256 and size.</summary>
    /// <exception cref="ContentHashMismatchException">The bytes are not the ones the reference names.</exception>
    public async Task DownloadVerifiedAsync(ContentRef content, Stream destination, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        ArgumentNullException.ThrowIfNull(destination);
        // One GET streams the whole blob (OpenRead would first ask for its properties: a second request per read,
        // which doubles aggregation's requests with thousands of small updates); the SDK resumes the stream on a fault.
        using var download = (await Blob(content.Blob).DownloadStreamingAsync(cancellationToken: cancellationToken).ConfigureAwait(false)).Value;
        await CopyVerifiedAsync(download.Content, content, destination, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Copies <paramref name="source"/> into <paramref name="destination"/>, hashing every byte as it streams through,
    /// and checks the SHA-256 and size against <paramref name="content"/> (the download's local work).
    /// </summary>
    /// <exception cref="ContentHashMismatchException">The bytes are not the ones the reference names.</exception>
    public static async Task CopyVerifiedAsync(Stream source, ContentRef content, Stream destination, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(content);
        ArgumentNullException.ThrowIfNull(destination);
        using var hasher = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 16];
        long total = 0;
        int read;
        while ((read = await source.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
        {
            hasher.AppendData(buffer, 0, read);
            await destination.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
            total += read;
        }
        string actual = Convert.ToHexStringLower(hasher.GetHashAndReset());
        if (actual != content.Sha256 || total != content.Bytes)
        {
            throw new ContentHashMismatchException(
                $"{content.Blob}: expected SHA-256 {content.Sha256} ({content.Bytes} bytes) but read {actual} ({total} bytes). " +
                "The blob was changed or truncated after it was referenced.");
        }
    }

    /// <summary>Names of blobs under <paramref name="prefix"/> in <paramref name="container"/> (empty when the container is missing).</summary>
    public async IAsyncEnumerable<string> ListNamesAsync(string container, string prefix,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var client = Service.GetBlobContainerClient(container);
        var pages = client.GetBlobsAsync(new GetBlobsOptions { Prefix = prefix }, cancellationToken).AsPages().GetAsyncEnumerator(cancellationToken);
        try
        {
            while (true)
            {
                Page<BlobItem> page;
                try
                {
                    if (!await pages.MoveNextAsync().ConfigureAwait(false)) yield break;
                    page = pages.Current;
                }
                catch (RequestFailedException e) when (e.Status == 404)
                {
                    yield break;
                }
                foreach (var item in page.Values) yield return item.Name;
            }
        }
        finally
        {
            await pages.DisposeAsync().ConfigureAwait(false);
        }
    }

    public async Task<bool> DeleteIfExistsAsync(BlobRef blob, CancellationToken cancellationToken = default)
    {
        try
        {
            return (await Blob(blob).DeleteIfExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false)).Value;
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return false;
        }
    }
}

/// <summary>Bytes that do not match the SHA-256 (or size) their reference names.</summary>
public sealed class ContentHashMismatchException : Exception
{
    public ContentHashMismatchException() { }
    public ContentHashMismatchException(string message) : base(message) { }
    public ContentHashMismatchException(string message, Exception inner) : base(message, inner) { }
}
