namespace FedTune.Training.Trainer;

/// <summary>
/// The JSON part of a checkpoint (<c>trainer_state.json</c>): progress, running loss totals, and the run's identity
/// (so a checkpoint from a different run is refused instead of silently resumed).
/// </summary>
public sealed record TrainerCheckpointState
{
    public int Step { get; init; }

    public long OptimizerStepCount { get; init; }

    public double LossSum { get; init; }

    public double LastStepLoss { get; init; }

    public int MaxSteps { get; init; }

    public int Seed { get; init; }

    public int ExampleCount { get; init; }

    public int BatchSize { get; init; }

    public int GradientAccumulationSteps { get; init; }

    public List<TrainingLogEntry> History { get; init; } = [];
}
