using FedTune.ClientAgent.Execution;
using FedTune.ClientAgent.Tests.Support;
using FedTune.ClientAgent.Work;
using FedTune.Core.Protocol;
using FedTune.TestSupport;

namespace FedTune.ClientAgent.Tests.Integration;

/// <summary>Each kind of bad input ends in a failed-task marker the orchestrator can read, and a clear local log line.</summary>
[Collection(AzuriteTestGroup.Name)]
public sealed class RoundTaskRunnerBadInputTests(AzuriteFixture azurite)
{
    private static async Task<(TaskOutcome Outcome, FailedTaskMarker? Marker, List<string> Log)> RunOnceAsync(
        AgentTestBed bed, FedTune.ClientAgent.Configuration.AgentOptions options)
    {
        var (outcome, _, log) = await bed.RunOpenTaskAsync(options);
        return (outcome, await bed.MarkerAsync(1), log.Lines.ToList());
    }

    [Fact]
    public async Task A_missing_data_file_writes_a_data_missing_marker()
    {
        using var bed = new AgentTestBed(azurite);
        await bed.WriteTaskAsync(1, await bed.PublishGlobalAdapterAsync());
        var options = bed.Options();
        options.Data.Paths = [Path.Combine(bed.Root, "nowhere.jsonl")];

        var (outcome, marker, log) = await RunOnceAsync(bed, options);

        Assert.Equal(TaskOutcome.Failed, outcome);
        Assert.Equal(FailureReasons.DataMissing, marker!.ReasonCode);
        Assert.Contains("nowhere.jsonl", marker.Message, StringComparison.Ordinal);
        Assert.Equal(bed.HospitalId, marker.HospitalId);
        Assert.Contains(log, l => l.StartsWith("Error", StringComparison.Ordinal) && l.Contains("data_missing", StringComparison.Ordinal));
        Assert.Null(await bed.ManifestAsync(1));
    }

    [Fact]
    public async Task A_malformed_data_file_writes_a_data_malformed_marker_without_record_text()
    {
        using var bed = new AgentTestBed(azurite);
        await File.AppendAllTextAsync(bed.DataFile, "{\"instruction\": \"" + AgentTestBed.RecordMarker + "broken\", \n");
        await bed.WriteTaskAsync(1, null);

        var (outcome, marker, _) = await RunOnceAsync(bed, bed.Options());

        Assert.Equal(TaskOutcome.Failed, outcome);
        Assert.Equal(FailureReasons.DataMalformed, marker!.ReasonCode);
        Assert.DoesNotContain(AgentTestBed.RecordMarker, marker.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_empty_training_split_writes_an_empty_split_marker()
    {
        using var bed = new AgentTestBed(azurite, records: 1);
        await bed.WriteTaskAsync(1, null);

        var (outcome, marker, _) = await RunOnceAsync(bed, bed.Options());

        Assert.Equal(TaskOutcome.Failed, outcome);
        Assert.Equal(FailureReasons.EmptySplit, marker!.ReasonCode);
    }

    [Fact]
    public async Task A_record_that_is_too_long_writes_a_record_too_long_marker()
    {
        using var bed = new AgentTestBed(azurite);
        await bed.WriteTaskAsync(1, null);
        var options = bed.Options();
        options.Data.MaxRecordCharacters = 40;

        var (outcome, marker, _) = await RunOnceAsync(bed, options);

        Assert.Equal(TaskOutcome.Failed, outcome);
        Assert.Equal(FailureReasons.RecordTooLong, marker!.ReasonCode);
    }

    [Fact]
    public async Task A_model_folder_for_another_base_model_writes_a_model_mismatch_marker()
    {
        using var bed = new AgentTestBed(azurite);
        await bed.WriteTaskAsync(1, await bed.PublishGlobalAdapterAsync(), baseModel: "EleutherAI/pythia-1b");

        var (outcome, marker, _) = await RunOnceAsync(bed, bed.Options());

        Assert.Equal(TaskOutcome.Failed, outcome);
        Assert.Equal(FailureReasons.ModelMismatch, marker!.ReasonCode);
        Assert.Contains("pythia-1b", marker.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_global_adapter_whose_hash_differs_from_the_task_writes_a_hash_mismatch_marker()
    {
        using var bed = new AgentTestBed(azurite);
        var real = await bed.PublishGlobalAdapterAsync();
        var tampered = real with { Sha256 = ContentHash.Compute(new byte[] { 1, 2, 3 }) };
        await bed.WriteTaskAsync(1, tampered);

        var (outcome, marker, _) = await RunOnceAsync(bed, bed.Options());

        Assert.Equal(TaskOutcome.Failed, outcome);
        Assert.Equal(FailureReasons.GlobalAdapterHashMismatch, marker!.ReasonCode);
        Assert.Contains(tampered.Sha256, marker.Message, StringComparison.Ordinal);
        Assert.Null(await bed.ManifestAsync(1));
    }

    [Fact]
    public async Task A_task_past_its_deadline_is_skipped_with_a_log_line_and_nothing_uploaded()
    {
        using var bed = new AgentTestBed(azurite);
        await bed.WriteTaskAsync(1, await bed.PublishGlobalAdapterAsync(), deadlineIn: TimeSpan.FromSeconds(-5));
        var options = bed.Options();

        var (outcome, marker, log) = await RunOnceAsync(bed, options);

        Assert.Equal(TaskOutcome.Skipped, outcome);
        Assert.Null(marker);
        Assert.Null(await bed.ManifestAsync(1));
        Assert.Contains(log, l => l.Contains("deadline", StringComparison.Ordinal) && l.Contains("has passed", StringComparison.Ordinal));
        Assert.DoesNotContain(await bed.HospitalBlobsAsync(), b => b.Name.Contains("/update/", StringComparison.Ordinal));
        var state = new TaskWorkFolder(Path.Combine(options.WorkPath, "tasks", "runs", bed.RunId, "round-0001")).ReadState();
        Assert.Equal(TaskPhase.Skipped, state!.Phase);
    }
}
