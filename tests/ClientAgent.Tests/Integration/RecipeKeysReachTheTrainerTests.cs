using FedTune.ClientAgent.Execution;
using FedTune.ClientAgent.Tests.Support;
using FedTune.Core.Configuration;
using FedTune.Core.Privacy;
using FedTune.Core.Protocol;
using FedTune.TestSupport;

namespace FedTune.ClientAgent.Tests.Integration;

/// <summary>
/// Each recipe key through the real agent (task blob → trainer → manifest): the manifest reports what the model and
/// trainer actually ran, so a key the agent ignored makes its test fail.
/// </summary>
[Collection(AzuriteTestGroup.Name)]
public sealed class RecipeKeysReachTheTrainerTests(AzuriteFixture azurite)
{
    private static async Task<UpdateManifest> RunRoundAsync(AgentTestBed bed, int round, TrainingRecipe recipe, long? seed = null)
    {
        await bed.WriteTaskAsync(round, null, recipe: recipe, seed: seed);
        var (outcome, _, log) = await bed.RunOpenTaskAsync();
        Assert.True(outcome == TaskOutcome.Completed, string.Join("\n", log.Lines));
        return (await bed.ManifestAsync(round))!;
    }

    [Fact]
    public async Task Quantization_4_trains_on_an_nf4_base_that_is_smaller_in_memory_and_8_on_int8()
    {
        using var bed = new AgentTestBed(azurite);

        var full = (await RunRoundAsync(bed, 1, AgentTestBed.Recipe())).Ran!;
        var nf4 = (await RunRoundAsync(bed, 2, AgentTestBed.Recipe() with { Quantization = BaseQuantization.Nf4 })).Ran!;
        var int8 = (await RunRoundAsync(bed, 3, AgentTestBed.Recipe() with { Quantization = BaseQuantization.Int8 })).Ran!;

        Assert.Equal(BaseQuantization.None, full.Quantization);
        Assert.Equal(BaseQuantization.Nf4, nf4.Quantization);
        Assert.Equal(BaseQuantization.Int8, int8.Quantization);
        Assert.True(nf4.BaseModelBytes < int8.BaseModelBytes && int8.BaseModelBytes < full.BaseModelBytes,
            $"resident base bytes: full {full.BaseModelBytes}, int8 {int8.BaseModelBytes}, nf4 {nf4.BaseModelBytes}");
    }

    [Fact]
    public async Task Gradient_checkpointing_on_runs_every_block_through_the_checkpoint_function_reusing_its_projection_outputs_and_off_runs_none()
    {
        using var bed = new AgentTestBed(azurite);

        var off = (await RunRoundAsync(bed, 1, AgentTestBed.Recipe())).Ran!;
        var on = (await RunRoundAsync(bed, 2, AgentTestBed.Recipe() with { GradientCheckpointing = true })).Ran!;

        Assert.False(off.GradientCheckpointing);
        Assert.Equal((0L, 0L), (off.CheckpointedBlockPasses, off.ReusedProjectionOutputs));
        Assert.True(on.GradientCheckpointing);
        Assert.True(on.CheckpointedBlockPasses > 0, "no block ran through the checkpoint function");
        // Selective checkpointing: each block pass kept its 4 frozen projections' outputs and backward reused them
        // instead of recomputing those matmuls.
        Assert.Equal(4 * on.CheckpointedBlockPasses, on.ReusedProjectionOutputs);
    }

    [Fact]
    public async Task Padding_side_schedule_lora_shape_and_cadence_are_the_ones_the_trainer_ran_with()
    {
        using var bed = new AgentTestBed(azurite);
        var recipe = AgentTestBed.Recipe(maxSteps: 3) with
        {
            PaddingSide = PaddingSide.Right,
            LrSchedulerType = LrSchedulerType.Linear,
            Lora = new LoraConfig { R = 2, Alpha = 6, Dropout = 0.1 },
            GradientAccumulationSteps = 2,
            LoggingSteps = 2,
            SaveSteps = 2,
            SaveTotalLimit = 1,
        };

        var manifest = await RunRoundAsync(bed, 1, recipe);

        var ran = manifest.Ran!;
        Assert.Equal(PaddingSide.Right, ran.PaddingSide);
        Assert.Equal(LrSchedulerType.Linear, ran.LrSchedulerType);
        Assert.Equal((2, 6.0, 0.1), (ran.LoraRank, ran.LoraAlpha, ran.LoraDropout));
        Assert.Equal((2, 2, 3), (ran.BatchSize, ran.GradientAccumulationSteps, ran.Steps));
        Assert.Equal((2, 2, (int?)1), (ran.LoggingSteps, ran.SaveSteps, ran.SaveTotalLimit));
        Assert.Equal(recipe.LearningRate, ran.LearningRate);
        Assert.True(ran.TrainTokens > 0 && ran.PeakMemoryBytes > 0);
        Assert.True(manifest.Timings.BusySeconds >= manifest.Timings.TrainSeconds, "busy time covers training");
    }

    [Fact]
    public async Task Eval_every_rounds_and_eval_max_examples_decide_when_and_on_how_many_records_the_hospital_evaluates()
    {
        using var bed = new AgentTestBed(azurite);
        var recipe = AgentTestBed.Recipe() with { EvalEveryRounds = 2, EvalMaxExamples = 1 };

        // The test bed's tasks are rounds of a 2-round run: round 1 is not a multiple of 2, round 2 is (and the last).
        var first = await RunRoundAsync(bed, 1, recipe);
        var second = await RunRoundAsync(bed, 2, recipe);

        Assert.Equal((2, 0), (first.Ran!.EvalEveryRounds, first.Ran.EvalExamples));
        Assert.Equal(0, first.Metrics.HeldOutExamples);
        Assert.Null(first.Metrics.HeldOutNll);
        Assert.Equal(1, second.Ran!.EvalExamples);
        Assert.Equal(1, second.Metrics.HeldOutExamples);
        Assert.NotNull(second.Metrics.HeldOutNll);
    }

    [Fact]
    public async Task Record_level_DP_makes_the_same_round_and_seed_train_differently_and_reports_the_epsilon_spent_so_far()
    {
        using var dpBed = new AgentTestBed(azurite);
        using var plainBed = new AgentTestBed(azurite);
        var privacy = new RecordPrivacyConfig { ClipNorm = 1.0, NoiseMultiplier = 1.2, Delta = 1e-5 };
        // On an NF4 base with gradient checkpointing: each record's own pass goes through the model as a batch does.
        var plainRecipe = AgentTestBed.Recipe(maxSteps: 3) with { Quantization = BaseQuantization.Nf4, GradientCheckpointing = true };
        var dpRecipe = plainRecipe with { RecordPrivacy = privacy };

        // The same global adapter and seed twice: plain training repeats itself; DP-SGD's secret sample and noise do not.
        var first = await RunRoundAsync(dpBed, 1, dpRecipe, seed: 99);
        var second = await RunRoundAsync(dpBed, 2, dpRecipe, seed: 99);
        var plainFirst = await RunRoundAsync(plainBed, 1, plainRecipe, seed: 99);
        var plainSecond = await RunRoundAsync(plainBed, 2, plainRecipe, seed: 99);

        Assert.NotEqual(first.Adapter.Sha256, second.Adapter.Sha256);
        Assert.Equal(plainFirst.Adapter.Sha256, plainSecond.Adapter.Sha256);
        Assert.Equal(privacy, first.Ran!.RecordPrivacy);
        Assert.Equal(BaseQuantization.Nf4, first.Ran.Quantization);
        Assert.True(first.Ran.CheckpointedBlockPasses > 0, "no DP record pass ran through the checkpoint function");
        Assert.Null(plainFirst.Ran!.RecordPrivacy);
        Assert.Null(plainFirst.Metrics.RecordEpsilon);

        // ε after round r counts r rounds of 3 steps at q = batch 2 / the hospital's training records.
        var q = RecordPrivacyLedger.SamplingRate(2, (int)first.ExampleCount);
        Assert.Equal(RecordPrivacyLedger.Epsilon(privacy, q, 3), first.Metrics.RecordEpsilon!.Value, 9);
        Assert.Equal(RecordPrivacyLedger.Epsilon(privacy, q, 6), second.Metrics.RecordEpsilon!.Value, 9);
        Assert.True(second.Metrics.RecordEpsilon > first.Metrics.RecordEpsilon && first.Metrics.RecordEpsilon > 0);
    }
}
