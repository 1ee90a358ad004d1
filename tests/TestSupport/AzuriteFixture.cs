using Azure.Storage.Blobs;
using FedTune.Core.Storage;
using Xunit;

namespace FedTune.TestSupport;

/// <summary>
/// One private Azurite per test assembly run (free ports, temporary data folder, stopped and deleted at the end).
/// Tests isolate themselves with <see cref="NewContainerAsync"/> (a fresh, uniquely named container each).
/// </summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    private AzuriteProcess? _azurite;

    public AzuriteProcess Azurite => _azurite ?? throw new InvalidOperationException("Azurite has not started.");

    public string ConnectionString => Azurite.ConnectionString;

    public BlobServiceClient BlobService => new(ConnectionString);

    public async Task InitializeAsync() => _azurite = await AzuriteProcess.StartAsync();

    public Task DisposeAsync()
    {
        _azurite?.Dispose();
        return Task.CompletedTask;
    }

    /// <summary>A new empty container with a unique name; the test may delete it or leave it to the fixture's end.</summary>
    public async Task<BlobContainerClient> NewContainerAsync(string prefix = "test")
    {
        var container = BlobService.GetBlobContainerClient($"{prefix}-{Guid.NewGuid():N}"[..Math.Min(63, prefix.Length + 33)]);
        await container.CreateAsync();
        return container;
    }
}
