using FedTune.Core.Configuration;
using FedTune.TestSupport;
using FedTune.Training.Data;
using FedTune.Training.Trainer;
using Xunit;

namespace FedTune.Training.Tests.Trainer;

public sealed class TrainerRunFromRecipeTests
{
    [Fact]
    public void The_seed_recipe_gives_its_round_its_own_steps_rate_and_seq_length()
    {
        var recipe = FedTuneConfigLoader.Parse(SeedConfigYaml.Nested, "seed.yaml").Recipe;

        var run = TrainerRun.For(recipe, learningRate: 3e-4, trainExamples: 100, seed: 7);

        Assert.Equal(new TrainerRun(3e-4, 5, 7), run);
        Assert.Equal(2, recipe.BatchSize);
        Assert.Equal(LrSchedulerType.Cosine, recipe.LrSchedulerType);
        Assert.Equal(200, recipe.SaveSteps);
        Assert.Equal(10, recipe.SaveTotalLimit);
        Assert.Equal(0.0, recipe.WeightDecay);
        Assert.Equal(1.0, recipe.MaxGradNorm);
        Assert.Equal(512, TokenizationOptions.For(recipe).SeqLength);
        Assert.Equal(128, TokenizationOptions.For(recipe, maxPositions: 128).SeqLength);
    }

    [Fact]
    public void Max_steps_minus_one_becomes_hf_epoch_steps_over_the_hospitals_data()
    {
        var recipe = FedTuneConfigLoader.Parse(SeedConfigYaml.Nested.Replace("max_steps: 5", "max_steps: -1\n    num_train_epochs: 2", StringComparison.Ordinal), "seed.yaml").Recipe;

        Assert.Equal(10, TrainerRun.For(recipe, 1e-4, trainExamples: 9, seed: 1).MaxSteps);
    }
}
