namespace FedTune.ClientAgent.Execution;

/// <summary>How one attempt at a task ended.</summary>
public enum TaskOutcome
{
    /// <summary>Adapter and manifest uploaded.</summary>
    Completed,

    /// <summary>Bad input: a failed-task marker was written.</summary>
    Failed,

    /// <summary>The deadline had passed; nothing was uploaded.</summary>
    Skipped,

    /// <summary>A manifest or marker was already there (another instance or an earlier run finished it).</summary>
    AlreadyDone,

    /// <summary>Another agent instance holds the task's lease.</summary>
    Busy,

    /// <summary>Stopped (shutdown, lost lease, storage unreachable) before finishing; the work folder keeps the progress.</summary>
    Interrupted,
}
