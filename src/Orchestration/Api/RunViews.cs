using FedTune.Orchestration.Orchestrators;
using FedTune.Orchestration.Status;

namespace FedTune.Orchestration.Api;

/// <summary>One run as the status API shows it.</summary>
public sealed record RunView
{
    public required string RunId { get; init; }
    /// <summary>pending, running, completed, failed, terminated, ...</summary>
    public required string RuntimeStatus { get; init; }
    public required DateTimeOffset CreatedUtc { get; init; }
    public required DateTimeOffset LastUpdatedUtc { get; init; }
    public FederationStatus? Status { get; init; }
    public FederationResult? Result { get; init; }
    /// <summary>Why the run failed (the orchestration's failure message), when it did.</summary>
    public string? Failure { get; init; }
}

public sealed record StartedRun(string RunId, string StatusPath);

public sealed record RunList(IReadOnlyList<RunView> Runs);
