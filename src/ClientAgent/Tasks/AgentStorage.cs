using Azure.Identity;
using Azure.Storage.Blobs;
using FedTune.ClientAgent.Configuration;
using FedTune.Core.Protocol;

namespace FedTune.ClientAgent.Tasks;

/// <summary>Builds the protocol's <see cref="BlobStore"/> from the agent's storage options (one per credential mode).</summary>
public static class AgentStorage
{
    public static BlobStore Create(StorageOptions storage)
    {
        ArgumentNullException.ThrowIfNull(storage);
        return storage.Mode switch
        {
            CredentialMode.ConnectionString => BlobStore.FromConnectionString(storage.ConnectionString!),
            CredentialMode.Sas => new BlobStore(new BlobServiceClient(storage.Endpoint!,
                new Azure.AzureSasCredential(storage.SasToken!.TrimStart('?')))),
            CredentialMode.ManagedIdentity => BlobStore.FromEndpoint(storage.Endpoint!,
                new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(storage.ManagedIdentityClientId!))),
            CredentialMode.DefaultAzureCredential => BlobStore.FromEndpoint(storage.Endpoint!, new DefaultAzureCredential()),
            _ => throw new ArgumentOutOfRangeException(nameof(storage), storage.Mode, "Unknown storage credential mode."),
        };
    }
}
