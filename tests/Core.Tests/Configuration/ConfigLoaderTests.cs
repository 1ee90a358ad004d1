using FedTune.Core.Configuration;
using FedTune.TestSupport;

namespace FedTune.Core.Tests.Configuration;

public sealed class ConfigLoaderTests
{
    public static TheoryData<string> SeedNestingVariants => new() { SeedConfigYaml.Nested, SeedConfigYaml.TopLevel };

    [Theory]
    [MemberData(nameof(SeedNestingVariants))]
    public void Seed_yaml_parses_exactly_in_both_nesting_variants(string yaml)
    {
        var config = FedTuneConfigLoader.Parse(yaml, "seed.yaml");

        Assert.Equal("medalpaca/medical_meadow_medical_flashcards", config.Dataset.Name);
        var recipe = config.Recipe;
        Assert.Equal("EleutherAI/pythia-70m", recipe.BaseModel);
        Assert.Equal(BaseQuantization.Nf4, recipe.Quantization);
        Assert.True(recipe.GradientCheckpointing);
        Assert.Equal(16, recipe.Lora.R);
        Assert.Equal(64, recipe.Lora.Alpha);
        Assert.Null(recipe.Lora.TargetModules);
        Assert.Equal(ConfigDefaults.LoraDropout, recipe.Lora.Dropout);
        Assert.False(recipe.Lora.FreezeA);
        Assert.Equal(5, config.SaveEveryRound);
        Assert.Equal(512, recipe.SeqLength);
        Assert.Equal(PaddingSide.Left, recipe.PaddingSide);
        Assert.Null(recipe.LearningRateMin);
        Assert.Equal(0.0005, recipe.LearningRate);
        Assert.Equal(2, recipe.BatchSize);
        Assert.Equal(1, recipe.GradientAccumulationSteps);
        Assert.Equal(1, recipe.LoggingSteps);
        Assert.Equal(5, recipe.MaxSteps);
        Assert.Equal(200, recipe.SaveSteps);
        Assert.Equal(10, recipe.SaveTotalLimit);
        Assert.Equal(LrSchedulerType.Cosine, recipe.LrSchedulerType);
        Assert.Equal(1.0, recipe.MaxGradNorm);
        Assert.Equal(0, recipe.ProximalMu);
        Assert.Equal(42, config.Federation.Seed);
        Assert.Equal(new FederationConfig().Rounds, config.Federation.Rounds);
        Assert.Equal(StrategyName.FedAvg, config.Federation.Strategy.Name);
        Assert.Null(config.Federation.DifferentialPrivacy);
        Assert.Equal(0.0005, recipe.LearningRateForRound(3, 10));
        Assert.Equal(recipe, recipe.Validate());
    }

    [Fact]
    public void Keys_accepted_without_effect_are_named_once_each_in_plain_words()
    {
        var yaml = SeedConfigYaml.Nested.Replace("report_to: null", "report_to: wandb", StringComparison.Ordinal);

        var notices = FedTuneConfigLoader.Parse(yaml, "seed.yaml").KeysWithoutEffect;

        Assert.Equal(2, notices.Count);
        Assert.Contains(notices, n => n.StartsWith("model.use_fast_tokenizer: true has no effect here", StringComparison.Ordinal));
        Assert.Contains(notices, n => n.StartsWith("training_arguments.report_to: wandb has no effect here", StringComparison.Ordinal));
        Assert.DoesNotContain(FedTuneConfigLoader.Parse(SeedConfigYaml.Nested, "seed.yaml").KeysWithoutEffect,
            n => n.Contains("report_to", StringComparison.Ordinal));
    }

    [Fact]
    public void Training_arguments_seed_seeds_the_federation_unless_federation_seed_is_given()
    {
        var yaml = SeedConfigYaml.Nested.Replace("max_steps: 5", "max_steps: 5\n    seed: 11", StringComparison.Ordinal);

        Assert.Equal(11, FedTuneConfigLoader.Parse(yaml, "s.yaml").Federation.Seed);
        Assert.Equal(7, FedTuneConfigLoader.Parse(yaml + SeedConfigYaml.Federation, "s.yaml").Federation.Seed);
    }

    [Fact]
    public void Fedprox_mu_is_part_of_the_recipe_every_client_trains_with()
    {
        var yaml = SeedConfigYaml.Nested + "\nfederation:\n  strategy:\n    name: fedprox\n    proximal_mu: 0.3\n";

        Assert.Equal(0.3, FedTuneConfigLoader.Parse(yaml, "s.yaml").Recipe.ProximalMu);
    }

    [Fact]
    public void Federation_section_parses_with_per_strategy_defaults()
    {
        var config = FedTuneConfigLoader.Parse(SeedConfigYaml.Nested + SeedConfigYaml.Federation, "f.yaml");
        var f = config.Federation;
        Assert.Equal(20, f.Rounds);
        Assert.Equal(7, f.Seed);
        Assert.Equal(0.5, f.FractionFit);
        Assert.Equal(3, f.MinAvailableClients);
        Assert.Equal(TimeSpan.FromMinutes(45), f.RoundDeadline);
        Assert.Equal(QuorumFailurePolicy.Fail, f.OnQuorumFailure);
        Assert.Equal(0, f.MaxRetries);
        Assert.Equal(["hospital-a", "hospital-b", "hospital-c"], f.Hospitals.Select(h => h.Id));
        Assert.Equal(["/data/b/1.json", "/data/b/2.json"], f.Hospitals[1].DataPaths);
        Assert.Equal("alpaca", f.Hospitals[0].Format);
        Assert.Equal(StrategyName.FedAdam, f.Strategy.Name);
        Assert.Equal(0.01, f.Strategy.Eta);
        Assert.Equal(0.8, f.Strategy.Beta1);
        Assert.Equal(0.99, f.Strategy.Beta2);
        Assert.Equal(1e-9, f.Strategy.Tau);
        Assert.Equal(0.5, f.DifferentialPrivacy!.ClipNorm);
        Assert.Equal(1.1, f.DifferentialPrivacy.NoiseMultiplier);
        Assert.Equal(1e-6, f.DifferentialPrivacy.Delta);
        Assert.Equal(5, f.Validation.MaxNormRatio);
        Assert.Equal(2, f.ClientsToSample(3));
    }

    [Fact]
    public void Flower_style_hyphenated_keys_and_learning_rate_schedule_are_accepted()
    {
        var yaml = SeedConfigYaml.Nested.Replace("save_every_round: 5", "save-every-round: 5\n  learning-rate-max: 5e-5\n  learning-rate-min: 1e-6", StringComparison.Ordinal);
        var recipe = FedTuneConfigLoader.Parse(yaml, "s.yaml").Recipe;
        Assert.Equal(5e-5, recipe.LearningRate);
        Assert.Equal(5e-5, recipe.LearningRateForRound(0, 10), 12);
        Assert.Equal(1e-6, recipe.LearningRateForRound(10, 10), 12);
    }

    [Fact]
    public void Load_file_records_the_source_path()
    {
        var path = Path.Combine(Path.GetTempPath(), $"fedtune-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, SeedConfigYaml.Nested);
        try
        {
            Assert.Equal(path, FedTuneConfigLoader.LoadFile(path).SourcePath);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Cosine_annealing_matches_flowertune_formula()
    {
        Assert.Equal(1e-3, FederatedLearningRate.ForRound(0, 4, 1e-3, 1e-5), 15);
        Assert.Equal(1e-5 + (0.5 * (1e-3 - 1e-5)), FederatedLearningRate.ForRound(2, 4, 1e-3, 1e-5), 15);
        Assert.Equal(1e-5 + (0.5 * (1e-3 - 1e-5) * (1 + Math.Cos(Math.PI / 4))), FederatedLearningRate.ForRound(1, 4, 1e-3, 1e-5), 15);
    }
}
