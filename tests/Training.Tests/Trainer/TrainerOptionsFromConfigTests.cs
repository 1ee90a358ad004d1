using FedTune.Core.Configuration;
using FedTune.TestSupport;
using FedTune.Training.Data;
using FedTune.Training.Trainer;
using Xunit;

namespace FedTune.Training.Tests.Trainer;

public sealed class TrainerOptionsFromConfigTests
{
    [Fact]
    public void FromConfig_maps_the_seed_training_arguments_with_hf_defaults_for_the_rest()
    {
        var config = FedTuneConfigLoader.Parse(SeedConfigYaml.Nested, "seed.yaml");

        var options = TrainerOptions.FromConfig(config.Train, learningRate: 3e-4, exampleCount: 100, StrategyConfig.For(StrategyName.FedProx));

        Assert.Equal(3e-4, options.LearningRate);
        Assert.Equal(2, options.PerDeviceTrainBatchSize);
        Assert.Equal(5, options.MaxSteps);
        Assert.Equal(LearningRateSchedulerType.Cosine, options.LrSchedulerType);
        Assert.Equal(200, options.SaveSteps);
        Assert.Equal(10, options.SaveTotalLimit);
        Assert.Equal(0.0, options.WeightDecay);
        Assert.Equal(1.0, options.MaxGradNorm);
        Assert.True(options.ProximalMu > 0);
        Assert.Equal(512, TokenizationOptions.FromConfig(config.Train).SeqLength);
    }

    [Fact]
    public void FromConfig_turns_max_steps_minus_one_into_hf_epoch_steps()
    {
        var config = FedTuneConfigLoader.Parse(SeedConfigYaml.Nested.Replace("max_steps: 5", "max_steps: -1\n    num_train_epochs: 2", StringComparison.Ordinal), "seed.yaml");

        var options = TrainerOptions.FromConfig(config.Train, 1e-4, exampleCount: 9);

        Assert.Equal(10, options.MaxSteps);
    }
}
