namespace FedTune.ClientAgent.Status;

/// <summary>
/// A snapshot of one agent: its activity, the task it works on, training progress and totals. Only ids, counts and
/// aggregate numbers, never record text. Written to <c>&lt;WorkPath&gt;/status.json</c> on every change.
/// </summary>
public sealed record AgentStatus
{
    public required string HospitalId { get; init; }
    public AgentActivity Activity { get; init; } = AgentActivity.Starting;
    public string? RunId { get; init; }
    public int? Round { get; init; }
    public int Step { get; init; }
    public int MaxSteps { get; init; }
    public double? LastLoss { get; init; }
    public int TasksCompleted { get; init; }
    public int TasksFailed { get; init; }
    public int TasksSkipped { get; init; }
    /// <summary>Times this agent process loaded the base model (once per run while it keeps the model between tasks; once per task with ModelCache off).</summary>
    public int ModelLoads { get; init; }
    /// <summary>The last failure's reason code and message (as written to the failed-task marker).</summary>
    public string? LastError { get; init; }

    /// <summary>How the task of <see cref="Round"/> ended (null while it runs or before any task): what a progress display shows once the agent is idle again.</summary>
    public FedTune.ClientAgent.Execution.TaskOutcome? LastOutcome { get; init; }
    public DateTimeOffset UpdatedUtc { get; init; }
}
