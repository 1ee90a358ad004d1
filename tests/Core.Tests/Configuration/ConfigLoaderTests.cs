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
        Assert.Equal("EleutherAI/pythia-70m", config.Model.Name);
        Assert.Equal(4, config.Model.Quantization);
        Assert.True(config.Model.GradientCheckpointing);
        Assert.True(config.Model.UseFastTokenizer);
        Assert.Equal(16, config.Model.Lora.R);
        Assert.Equal(64, config.Model.Lora.Alpha);
        Assert.Null(config.Model.Lora.TargetModules);
        Assert.Equal(ConfigDefaults.LoraDropout, config.Model.Lora.Dropout);
        Assert.False(config.Model.Lora.FreezeA);
        Assert.Equal(5, config.Train.SaveEveryRound);
        Assert.Equal(512, config.Train.SeqLength);
        Assert.Equal(PaddingSide.Left, config.Train.PaddingSide);
        Assert.Null(config.Train.LearningRateMax);
        var args = config.Train.TrainingArguments;
        Assert.Equal(0.0005, args.LearningRate);
        Assert.Equal(2, args.PerDeviceTrainBatchSize);
        Assert.Equal(1, args.GradientAccumulationSteps);
        Assert.Equal(1, args.LoggingSteps);
        Assert.Equal(5, args.MaxSteps);
        Assert.Empty(args.ReportTo);
        Assert.Equal(200, args.SaveSteps);
        Assert.Equal(10, args.SaveTotalLimit);
        Assert.True(args.GradientCheckpointing);
        Assert.Equal(LrSchedulerType.Cosine, args.LrSchedulerType);
        Assert.Equal(1.0, args.MaxGradNorm);
        Assert.Equal(42, args.Seed);
        Assert.Equal(new FederationConfig().Rounds, config.Federation.Rounds);
        Assert.Equal(StrategyName.FedAvg, config.Federation.Strategy.Name);
        Assert.Null(config.Federation.DifferentialPrivacy);
        Assert.Equal(0.0005, config.Train.LearningRateForRound(3, 10));
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
        var train = FedTuneConfigLoader.Parse(yaml, "s.yaml").Train;
        Assert.Equal(5e-5, train.LearningRateMax);
        Assert.Equal(5e-5, train.LearningRateForRound(0, 10), 12);
        Assert.Equal(1e-6, train.LearningRateForRound(10, 10), 12);
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
