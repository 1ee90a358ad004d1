using System.Text;
using FedTune.Core.Protocol;
using Xunit;

namespace FedTune.Orchestration.Tests.Unit;

public sealed class ProtocolTests
{
    [Fact]
    public void Blob_layout_names_hospital_containers_and_round_paths_in_one_scheme()
    {
        Assert.Equal("hospital-st-marys-2", BlobLayout.HospitalContainer("St-Marys-2"));
        Assert.Equal(new BlobRef("hospital-a", "runs/r1/round-0003/task.json"), BlobLayout.RoundTask("r1", 3, "a"));
        Assert.Equal("runs/r1/round-0003-retry-2/update/manifest.json", BlobLayout.UpdateManifest("r1", 3, "a", 2).Name);
        var sha = new string('a', 64);
        Assert.Equal($"runs/r1/global/round-0000/adapter-{sha}.bin", BlobLayout.GlobalAdapter("r1", 0, sha).Name);
        Assert.Equal("global", BlobLayout.GlobalAdapter("r1", 0, sha).Container);
        Assert.Equal(12, BlobLayout.ParseRoundSegment(BlobLayout.RoundSegment(12)));
    }

    [Theory]
    [InlineData("")]
    [InlineData("-a")]
    [InlineData("a--b")]
    [InlineData("a_b")]
    [InlineData("this-hospital-id-is-far-too-long-for-a-storage-container-name")]
    public void Invalid_hospital_ids_are_rejected_with_the_rule(string id)
    {
        var e = Assert.Throws<ArgumentException>(() => BlobLayout.HospitalContainer(id));
        Assert.Contains("a-z, 0-9 and single hyphens", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Records_round_trip_as_snake_case_json_and_bad_json_names_its_source()
    {
        var marker = new FailedTaskMarker
        {
            RunId = "r", Round = 2, HospitalId = "a", ReasonCode = FailureReasons.EmptySplit, Message = "no held-out rows",
            AgentVersion = "1.0", WrittenUtc = DateTimeOffset.UnixEpoch,
        };
        var json = Encoding.UTF8.GetString(ProtocolJson.Serialize(marker));
        Assert.Contains("\"reason_code\": \"empty_split\"", json, StringComparison.Ordinal);
        Assert.Equal(marker, ProtocolJson.Deserialize<FailedTaskMarker>(Encoding.UTF8.GetBytes(json), "x"));
        var e = Assert.Throws<ProtocolFormatException>(() => ProtocolJson.Deserialize<FailedTaskMarker>("{\"run_id\": 3"u8, "hospital-a/runs/r/failed.json"));
        Assert.Contains("hospital-a/runs/r/failed.json", e.Message, StringComparison.Ordinal);
    }
}
