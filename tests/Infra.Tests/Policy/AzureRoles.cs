namespace FedTune.Infra.Tests.Policy;

/// <summary>
/// Azure built-in role definition ids (the same in every tenant), checked against the published
/// built-in role list. Note: Storage Blob Data Contributor is ba92f5b4-2d11-453**d**-..., and
/// Storage Blob Data Reader is 2a2b9908-6ea1-4ae2-**8e65-a410df84e7d1**.
/// </summary>
public static class AzureRoles
{
    public const string StorageBlobDataOwner = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b";
    public const string StorageBlobDataContributor = "ba92f5b4-2d11-453d-a403-e96b0029c9fe";
    public const string StorageBlobDataReader = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1";
    public const string StorageQueueDataContributor = "974c5e8b-45b9-4653-ba55-5f855dd0fb88";
    public const string StorageQueueDataMessageSender = "c6a89b2d-59bc-44d0-9896-0f6e12d7b80a";
    public const string StorageTableDataContributor = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3";
    public const string MonitoringMetricsPublisher = "3913510d-42f4-4e42-8a64-420c390055eb";
}
