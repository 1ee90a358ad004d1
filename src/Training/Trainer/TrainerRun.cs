using FedTune.Core.Configuration;

namespace FedTune.Training.Trainer;

/// <summary>
/// The three values a <see cref="TrainingRecipe"/> leaves to the one who runs a round: the rate the round starts
/// from (the recipe's rate for that round), its optimizer steps (max_steps, or num_train_epochs over this data) and
/// the seed of its data order and dropout. Everything else comes from the recipe.
/// </summary>
public sealed record TrainerRun(double LearningRate, int MaxSteps, int Seed)
{
    /// <summary>The round's run: <paramref name="learningRate"/>, the recipe's steps for <paramref name="trainExamples"/>, <paramref name="seed"/>.</summary>
    public static TrainerRun For(TrainingRecipe recipe, double learningRate, int trainExamples, long seed)
    {
        ArgumentNullException.ThrowIfNull(recipe);
        return new TrainerRun(learningRate, recipe.StepsFor(trainExamples), (int)(seed & int.MaxValue));
    }

    public void Validate()
    {
        if (!(LearningRate >= 0 && double.IsFinite(LearningRate)))
            throw new ArgumentException($"The round's learning rate is {LearningRate}: it must be a finite number ≥ 0.");
        if (MaxSteps < 1)
            throw new ArgumentException($"The round's optimizer steps are {MaxSteps}: at least 1 is needed.");
    }
}
