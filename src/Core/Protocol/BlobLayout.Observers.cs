namespace FedTune.Core.Protocol;

/// <summary>Blobs that observers of a run read or add: the agent's task lock and the global model's held-out evaluations.</summary>
public static partial class BlobLayout
{
    /// <summary>Empty blob in a task's round folder; the agent holding its lease owns (is training) the task.</summary>
    public const string TaskLockFileName = "agent.lock";

    /// <summary>The lock blob an agent leases while it works on a round task: leased means the hospital is training.</summary>
    public static BlobRef TaskLock(string runId, int round, string hospitalId, int attempt = 0) =>
        new(HospitalContainer(hospitalId), HospitalRoundFolder(runId, round, attempt) + TaskLockFileName);

    /// <summary>Folder of a run's global held-out evaluations.</summary>
    public static string GlobalEvaluationFolder(string runId) => $"runs/{ValidateRunId(runId)}/evaluations/";

    /// <summary>The held-out evaluation of the global model after <paramref name="round"/> (round 0: the base model).</summary>
    public static BlobRef GlobalEvaluation(string runId, int round) =>
        new(GlobalContainer, GlobalEvaluationFolder(runId) + $"{RoundSegment(round)}/evaluation.json");
}
