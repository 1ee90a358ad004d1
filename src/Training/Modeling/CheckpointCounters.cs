namespace FedTune.Training.Modeling;

/// <summary>What the checkpointed blocks of one model did since it was built (probes for the run report and tests).</summary>
public sealed class CheckpointCounters
{
    /// <summary>Block forwards that ran through <see cref="LayerCheckpointFunction"/>.</summary>
    public long BlockPasses { get; internal set; }

    /// <summary>Frozen base projection outputs the recomputation reused instead of recomputing their matmuls.</summary>
    public long ReusedProjectionOutputs { get; internal set; }
}
