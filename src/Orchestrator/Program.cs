using Azure.Identity;
using FedTune.Core.Protocol;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

var builder = FunctionsApplication.CreateBuilder(args);
builder.Services.AddSingleton(services => OrchestratorStorage.CreateBlobStore(services.GetRequiredService<IConfiguration>()));
builder.Build().Run();

/// <summary>Where the app's protocol blobs live (the same account the Durable task hub uses, unless configured otherwise).</summary>
internal static class OrchestratorStorage
{
    /// <summary>
    /// FedTune__BlobServiceUri (Entra ID via DefaultAzureCredential / managed identity; FedTune__ManagedIdentityClientId for a
    /// user-assigned identity), else FedTune__StorageConnectionString, else AzureWebJobsStorage__blobServiceUri, else the
    /// AzureWebJobsStorage connection string (Azurite: UseDevelopmentStorage=true).
    /// </summary>
    public static BlobStore CreateBlobStore(IConfiguration configuration)
    {
        var uri = configuration["FedTune:BlobServiceUri"] ?? configuration["AzureWebJobsStorage:blobServiceUri"];
        if (!string.IsNullOrWhiteSpace(uri))
        {
            var clientId = configuration["FedTune:ManagedIdentityClientId"] ?? configuration["AzureWebJobsStorage:clientId"];
            var credential = new DefaultAzureCredential(new DefaultAzureCredentialOptions { ManagedIdentityClientId = clientId });
            return BlobStore.FromEndpoint(new Uri(uri), credential);
        }
        var connection = configuration["FedTune:StorageConnectionString"] ?? configuration["AzureWebJobsStorage"];
        if (string.IsNullOrWhiteSpace(connection))
        {
            throw new InvalidOperationException(
                "No storage configured for FedTune. Fix: set FedTune__BlobServiceUri (with a managed identity) or AzureWebJobsStorage.");
        }
        return BlobStore.FromConnectionString(connection);
    }
}
