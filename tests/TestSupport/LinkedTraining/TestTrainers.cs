using FedTune.Core.Configuration;
using FedTune.Training.Data;
using FedTune.Training.Modeling;
using FedTune.Training.Trainer;
using static TorchSharp.torch;

namespace FedTune.TestSupport;

/// <summary>Recipes and trainers for tests that train a model directly (the agent builds the same from a round task).</summary>
public static class TestTrainers
{
    /// <summary>A recipe for a test model: <paramref name="maxSteps"/> steps at <paramref name="learningRate"/>, logging every step.</summary>
    public static TrainingRecipe Recipe(int maxSteps, double learningRate, int batchSize = 8) => new()
    {
        BaseModel = "test-model",
        MaxSteps = maxSteps,
        LearningRate = learningRate,
        BatchSize = batchSize,
        LoggingSteps = 1,
    };

    /// <summary>A trainer that runs <paramref name="recipe"/> from its own learning rate for its max_steps.</summary>
    public static CausalLmTrainer Create(ICausalLanguageModel model, TrainingRecipe recipe, CausalLmBatchCollator collator,
        string? workDirectory = null, IReadOnlyDictionary<string, Tensor>? globalAdapter = null, long seed = 42) =>
        new(model, recipe, TrainerRun.For(recipe, recipe.LearningRate, 0, seed), collator, workDirectory, globalAdapter);
}
