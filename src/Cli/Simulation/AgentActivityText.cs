using System.Globalization;
using FedTune.ClientAgent.Execution;
using FedTune.ClientAgent.Status;

namespace FedTune.Cli.Simulation;

/// <summary>
/// What the live display shows for an agent in the current round: exactly the activity the agent wrote in its own
/// status file (downloading, training step k/n, evaluating, uploading, done, failed), never an inference from elsewhere.
/// </summary>
public static class AgentActivityText
{
    /// <summary>The text for <paramref name="status"/> in round <paramref name="round"/> of <paramref name="runId"/>; null while the agent has not reported on this round.</summary>
    public static string? For(AgentStatus? status, string runId, int round)
    {
        if (status is null || status.RunId != runId || status.Round != round) return null;
        return status.Activity switch
        {
            AgentActivity.Training when status.MaxSteps > 0 => string.Create(CultureInfo.InvariantCulture, $"training step {status.Step}/{status.MaxSteps}"),
            AgentActivity.Idle => status.LastOutcome switch
            {
                TaskOutcome.Completed => "uploaded",
                TaskOutcome.Failed => "failed: " + (status.LastError ?? "no reason given"),
                TaskOutcome.Skipped => "skipped (past the round deadline)",
                TaskOutcome.AlreadyDone => "already done",
                TaskOutcome.Interrupted => "interrupted",
                _ => "idle",
            },
            _ => status.Activity.ToString().ToLowerInvariant(),
        };
    }
}
