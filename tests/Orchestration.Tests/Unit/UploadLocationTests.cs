using FedTune.Core.Protocol;
using FedTune.Orchestration.Events;
using Xunit;

namespace FedTune.Orchestration.Tests.Unit;

/// <summary>Which blobs finish an upload, and whose round they belong to (the paths Event Grid and the watcher look at).</summary>
public sealed class UploadLocationTests
{
    [Fact]
    public void A_manifest_and_a_failed_marker_name_their_run_round_attempt_and_hospital()
    {
        var manifest = BlobLayout.UpdateManifest("run-1", 3, "st-marys");
        var retried = BlobLayout.FailedTaskMarker("run-1", 3, "st-marys", attempt: 2);

        Assert.Equal(new UploadLocation("run-1", 3, 0, "st-marys") { IsManifest = true }, UploadLocation.FromBlob(manifest.Container, manifest.Name));
        Assert.Equal(new UploadLocation("run-1", 3, 2, "st-marys"), UploadLocation.FromBlob(retried.Container, retried.Name));
    }

    [Theory]
    [InlineData("hospital-a", "runs/run-1/round-0001/task.json")]
    [InlineData("hospital-a", "runs/run-1/round-0001/update/adapter-00.bin")]
    [InlineData("global", "runs/run-1/rounds/round-0001/record.json")]
    [InlineData("hospital-a", "runs/run-1/round-x/update/manifest.json")]
    [InlineData("hospital-a", "runs/run-1/round-0001-retry-0/failed.json")]
    [InlineData("other-a", "runs/run-1/round-0001/update/manifest.json")]
    public void Other_blobs_are_not_uploads(string container, string blob) => Assert.Null(UploadLocation.FromBlob(container, blob));

    [Fact]
    public void An_Event_Grid_BlobCreated_event_for_a_manifest_locates_the_upload()
    {
        const string json = """
            {"topic":"/subscriptions/x/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st",
             "subject":"/blobServices/default/containers/hospital-b/blobs/runs/run-9/round-0002/update/manifest.json",
             "eventType":"Microsoft.Storage.BlobCreated","id":"1","data":{"api":"PutBlob"},"dataVersion":"","metadataVersion":"1",
             "eventTime":"2026-11-29T09:00:00Z"}
            """;

        Assert.Equal(new UploadLocation("run-9", 2, 0, "b") { IsManifest = true }, BlobCreatedEvent.Locate(json));
        Assert.Null(BlobCreatedEvent.Locate(json.Replace("BlobCreated", "BlobDeleted", StringComparison.Ordinal)));
        Assert.Null(BlobCreatedEvent.Locate("not json"));
    }
}
