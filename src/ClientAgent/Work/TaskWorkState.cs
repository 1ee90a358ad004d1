using FedTune.Core.Protocol;

namespace FedTune.ClientAgent.Work;

/// <summary>The persisted state of one task (state.json in its work folder).</summary>
public sealed record TaskWorkState
{
    public required string TaskSha256 { get; init; }
    public required TaskPhase Phase { get; init; }
    public string? TrainedAdapterSha256 { get; init; }
    public long TrainedAdapterBytes { get; init; }
    public long ExampleCount { get; init; }
    public UpdateMetrics? Metrics { get; init; }
    public UpdateTimings Timings { get; init; } = new();
    /// <summary>What the trainer actually ran (echoed in the manifest).</summary>
    public TrainingAsRun? Ran { get; init; }
    /// <summary>When the agent first saw this task (the start of <see cref="UpdateTimings.BusySeconds"/>).</summary>
    public DateTimeOffset SeenUtc { get; init; }
    public ContentRef? UploadedAdapter { get; init; }
    public string? FailureReason { get; init; }
    public DateTimeOffset UpdatedUtc { get; init; }
}
