using FedTune.ClientAgent.Data;
using FedTune.Core.Protocol;

namespace FedTune.ClientAgent.Engine;

/// <summary>
/// The agent's view of the training engine: train one round from the global adapter on the hospital's training
/// split (resuming from checkpoints in <see cref="RoundTrainingRequest.CheckpointFolder"/>), evaluate on its
/// held-out split, and write the trained adapter (wire format) to <see cref="RoundTrainingRequest.OutputAdapterFile"/>.
/// Bad input (a model folder that does not match the run, an adapter that does not fit the model) is a
/// <see cref="Execution.TaskFailedException"/>.
/// </summary>
public interface IRoundTrainer
{
    RoundTrainingOutcome Train(RoundTrainingRequest request, CancellationToken cancellationToken);
}

/// <param name="Task">The round task (recipe, the round's learning rate, seeds).</param>
/// <param name="GlobalAdapterFile">The verified global adapter (wire format) the round starts from.</param>
/// <param name="Data">The hospital's train and held-out records.</param>
/// <param name="CheckpointFolder">Where the trainer keeps and resumes its checkpoints.</param>
/// <param name="OutputAdapterFile">Where the trained adapter goes (written atomically).</param>
/// <param name="Progress">Training progress (step, loss) and checkpoint notifications.</param>
public sealed record RoundTrainingRequest(
    RoundTask Task,
    string GlobalAdapterFile,
    HospitalDataset Data,
    string CheckpointFolder,
    string OutputAdapterFile,
    IRoundTrainingProgress? Progress);

/// <summary>Callbacks from a running round (on the training thread).</summary>
public interface IRoundTrainingProgress
{
    void StepCompleted(int step, int maxSteps, double loss);

    /// <summary>A trainer checkpoint was saved after <paramref name="step"/>.</summary>
    void CheckpointSaved(int step);

    void EvaluationStarted();
}

/// <summary>
/// What a round produced: only counts, aggregate metrics and the recipe as it ran; whether the round loaded the base
/// model (false: it reused the one kept from the run's previous task) and the seconds loading took.
/// </summary>
public sealed record RoundTrainingOutcome(long ExampleCount, UpdateMetrics Metrics, double TrainSeconds, double EvalSeconds, TrainingAsRun Ran,
    bool LoadedModel, double ModelLoadSeconds);
