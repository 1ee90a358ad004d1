namespace FedTune.ClientAgent.Status;

/// <summary>What the agent is doing right now (for progress displays and the status file).</summary>
public enum AgentActivity
{
    Starting,
    Idle,
    Downloading,
    Training,
    Evaluating,
    Uploading,
    Stopped,
}
