namespace FedTune.ClientAgent.Work;

/// <summary>
/// Where a task stands in its local work folder. Each phase is entered only after the previous one's output is on
/// disk (written atomically), so a restarted agent continues from the last completed phase.
/// </summary>
public enum TaskPhase
{
    /// <summary>Nothing done yet (or a download was interrupted: it restarts).</summary>
    New,

    /// <summary>The global adapter is on disk and matched the task's SHA-256.</summary>
    Downloaded,

    /// <summary>The trained adapter and its metrics are on disk (the trainer's checkpoints covered the way here).</summary>
    Trained,

    /// <summary>The adapter blob is in Storage; the manifest is next.</summary>
    AdapterUploaded,

    /// <summary>The manifest is in Storage: the task is complete.</summary>
    Completed,

    /// <summary>A failed-task marker was written.</summary>
    Failed,

    /// <summary>The deadline had passed; nothing was uploaded.</summary>
    Skipped,
}
