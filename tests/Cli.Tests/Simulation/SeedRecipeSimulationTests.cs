using FedTune.Cli.Reporting;
using FedTune.Cli.Simulation;
using FedTune.Core.Configuration;
using FedTune.TestSupport;
using FedTune.Training.BaseModel;
using FedTune.Training.Modeling;
using Xunit;
using Xunit.Abstractions;

namespace FedTune.Cli.Tests.Simulation;

/// <summary>
/// The seed configuration, verbatim, through `fedtune simulate --model` on a pythia-70m-shaped model (the real
/// GPT-NeoX-20B tokenizer and vocabulary, pythia-70m's widths, one block, random weights written by our own code):
/// the agents load an NF4 base and train with gradient checkpointing, and the report's recipe table says so from
/// their manifests.
/// </summary>
public sealed class SeedRecipeSimulationTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDirectory _temp = new("fedtune-seed-recipe");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task The_seed_yaml_verbatim_runs_on_an_nf4_base_with_checkpointing_and_the_report_says_so_from_the_manifests()
    {
        var model = ShapedRandomModel.Write(TestPaths.RequirePythia70mFolder(), _temp.File("pythia-70m"), layers: 1);
        var options = SimulationOptionsBinder.Bind(new SimulationOverrides
        {
            ConfigPath = _temp.WriteFile("seed.yaml", SeedConfigYaml.Nested),
            ModelPath = model,
            DataPath = TestPaths.RequireMedicalMeadowFile(),
            OutputDirectory = _temp.File("run"),
            Hospitals = 2,
            Rounds = 1,
            MaxSteps = 2,
            RecordsPerHospital = 12,
            EvalExamples = 4,
            RoundDeadline = TimeSpan.FromMinutes(5),
        }) with { BaselineCache = new BaselineCache(_temp.File("baseline-cache")) };
        var lines = new List<string>();

        var report = await TinySimulation.RunAsync(options, output, lines.Add);

        Assert.True(report.Outcome == RunOutcome.Completed, $"{report.Outcome}: {report.FailureMessage}");
        Assert.Contains(lines, l => l.Contains("use_fast_tokenizer: true has no effect here", StringComparison.Ordinal));
        long fullPrecisionBase;
        using (var full = HuggingFaceModelLoader.Load(model)) fullPrecisionBase = full.BaseModelBytes();
        var hospitals = Assert.Single(report.Rounds).Hospitals;
        Assert.Equal(2, hospitals.Count);
        Assert.All(hospitals, h =>
        {
            var ran = h.Ran!;
            Assert.Equal(BaseQuantization.Nf4, ran.Quantization);
            Assert.True(ran.BaseModelBytes < fullPrecisionBase, $"NF4 base {ran.BaseModelBytes} B is not below full precision {fullPrecisionBase} B");
            Assert.True(ran.GradientCheckpointing && ran.CheckpointedBlockPasses > 0, "gradient checkpointing did not run");
            Assert.Equal(4 * ran.CheckpointedBlockPasses, ran.ReusedProjectionOutputs); // each block's 4 frozen projections kept, not recomputed
            Assert.Equal(PaddingSide.Left, ran.PaddingSide);
            Assert.Equal((16, 64.0), (ran.LoraRank, ran.LoraAlpha));
            Assert.Equal((0.0005, LrSchedulerType.Cosine), (ran.LearningRate, ran.LrSchedulerType)); // no learning_rate_min: every round starts from learning_rate
            Assert.Equal((2, 512, 2), (ran.BatchSize, ran.SeqLength, ran.Steps));
            Assert.Equal((1, 200, (int?)10), (ran.LoggingSteps, ran.SaveSteps, ran.SaveTotalLimit));
            Assert.True(h.BusySeconds > 0);
        });

        var markdown = File.ReadAllText(Path.Combine(options.OutputDirectory!, ReportFolder.ReportFile));
        var table = markdown[markdown.IndexOf("## " + RecipeAsRunMarkdown.Title, StringComparison.Ordinal)..];
        Assert.Contains("| 1 | hospital-1 | NF4 (4-bit) |", table, StringComparison.Ordinal);
        Assert.Contains("| 1 | hospital-2 | NF4 (4-bit) |", table, StringComparison.Ordinal);
        Assert.Contains("| on (", table, StringComparison.Ordinal);
        var json = RunReportJson.Read(Path.Combine(options.OutputDirectory!, ReportFolder.RoundsFile));
        Assert.All(json.Rounds[0].Hospitals, h => Assert.Equal(BaseQuantization.Nf4, h.Ran!.Quantization));
    }
}
