using FedTune.Core.Protocol;

namespace FedTune.ClientAgent.Tasks;

/// <summary>A round task found in the hospital's container with neither a manifest nor a failed-task marker yet.</summary>
/// <param name="TaskBlob">Where the task record lives.</param>
/// <param name="RoundFolder">The task's round folder (ends with '/'), where the agent's lock blob lives too.</param>
public sealed record PendingTask(BlobRef TaskBlob, string RoundFolder)
{
    /// <summary>The blob the agent leases while it works on the task (an empty blob beside task.json).</summary>
    public BlobRef LockBlob => new(TaskBlob.Container, RoundFolder + AgentBlobNames.LockFileName);
}

/// <summary>Blob names the agent adds to the protocol's layout (<see cref="BlobLayout"/>).</summary>
public static class AgentBlobNames
{
    /// <summary>Empty blob in a task's round folder; the agent holding its lease owns the task.</summary>
    public const string LockFileName = FedTune.Core.Protocol.BlobLayout.TaskLockFileName;

    public const string FailedMarkerFileName = "failed.json";
}
