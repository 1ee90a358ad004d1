using FedTune.Cli.Reporting;
using FedTune.Cli.Simulation;
using FedTune.Core.Configuration;
using FedTune.Core.Data;
using FedTune.Training.Data;
using Xunit;
using Xunit.Abstractions;

namespace FedTune.Cli.Tests.Simulation;

/// <summary>
/// The baselines are a pure function of the build, the base model, the data, the recipe, the rounds and the seed, so a
/// later run with all of those unchanged reuses them (<see cref="BaselineCache"/>) instead of training them again, and
/// gets exactly the curves and adapters that training would give. Run alone: baselines train in this process, and
/// another test training here at the same time would draw from the same torch RNG (dropout) and change the figures.
/// </summary>
[Collection(WholeMachineTests.Name)]
public sealed class BaselineReuseTests(ITestOutputHelper output) : IDisposable
{
    private const string Config = TinySimulation.TwoHospitalsTwoRounds;

    private readonly TinySimulation _first = new("fedtune-baseline-reuse-a");
    private readonly TinySimulation _second = new("fedtune-baseline-reuse-b");

    public void Dispose()
    {
        _first.Dispose();
        _second.Dispose();
    }

    [Fact]
    public async Task A_later_run_with_the_same_inputs_reuses_every_baseline_and_retraining_gives_the_same_curves_and_adapters()
    {
        var overrides = new SimulationOverrides { Hospitals = 2, EvalExamples = 8, RecordsPerHospital = 12, Seed = 7, NoAudit = true };
        var firstOptions = _first.Options(Config, overrides);
        var secondOptions = _second.Options(Config, overrides) with { BaselineCache = firstOptions.BaselineCache };

        var trained = await TinySimulation.RunAsync(firstOptions, output);
        var lines = new List<string>();
        var reused = await TinySimulation.RunAsync(secondOptions, output, lines.Add);
        Assert.True(trained.Outcome == RunOutcome.Completed && reused.Outcome == RunOutcome.Completed, $"{trained.FailureMessage} {reused.FailureMessage}");
        Assert.Equal(3, trained.Baselines.Count); // centralized and each hospital alone
        Assert.Equal(trained.Baselines.Select(b => b.Label).Order(), lines.Where(l => l.Contains("reused from an identical earlier run", StringComparison.Ordinal))
            .Select(l => l[(l.IndexOf("Baseline ", StringComparison.Ordinal) + 9)..l.IndexOf(':', StringComparison.Ordinal)]).Order());
        AssertSameBaselines(trained, reused);

        lines.Clear();
        var retrained = await TinySimulation.RunAsync(secondOptions with { RetrainBaselines = true, Resume = ResumeMode.Fresh }, output, lines.Add);
        Assert.DoesNotContain(lines, l => l.Contains("reused from an identical earlier run", StringComparison.Ordinal));
        AssertSameBaselines(trained, retrained);
    }

    [Fact]
    public void The_key_changes_with_every_input_a_baseline_depends_on()
    {
        var records = new List<AlpacaRecord> { new("Answer.", "What is angina?", "Chest pain from reduced blood flow.") };
        var heldOut = new List<TokenizedExample> { new([1, 2, 3], [-100, 2, 3]) };
        var recipe = new TrainingRecipe { BaseModel = "tiny", LearningRate = 0.01, BatchSize = 2, MaxSteps = 2 };
        string Key(string label = "centralized", string model = "m", int seq = 64, IReadOnlyList<AlpacaRecord>? r = null,
            IReadOnlyList<TokenizedExample>? h = null, int rounds = 2, int steps = 2, TrainingRecipe? re = null, int seed = 7) =>
            BaselineCache.Key(label, model, seq, r ?? records, h ?? heldOut, rounds, steps, re ?? recipe, seed);

        var reference = Key();
        Assert.Equal(reference, Key());
        Assert.All(new[]
        {
            Key(label: "local-only hospital-1"), Key(model: "n"), Key(seq: 128), Key(r: [records[0] with { Output = "Other." }]),
            Key(h: [new([1, 2, 4], [-100, 2, 4])]), Key(rounds: 3), Key(steps: 3), Key(re: recipe with { LearningRate = 0.02 }), Key(seed: 8),
        }, changed => Assert.NotEqual(reference, changed));
    }

    private void AssertSameBaselines(RunReport expected, RunReport actual)
    {
        Assert.Equal(System.Text.Json.JsonSerializer.Serialize(expected.Baselines, RunReportJson.Options),
            System.Text.Json.JsonSerializer.Serialize(actual.Baselines, RunReportJson.Options));
        var a = new RunFolder(_first.RunDirectory);
        var b = new RunFolder(_second.RunDirectory);
        foreach (var (left, right) in new[] { (SimulationAuditWiring.CentralizedAdapterDirectory(a), SimulationAuditWiring.CentralizedAdapterDirectory(b)) }
                     .Concat(new[] { "hospital-1", "hospital-2" }.Select(h => (SimulationAuditWiring.LocalOnlyAdapterDirectory(a, h), SimulationAuditWiring.LocalOnlyAdapterDirectory(b, h)))))
        {
            Assert.NotEmpty(Directory.GetFiles(left));
            foreach (var file in Directory.GetFiles(left))
            {
                Assert.True(File.ReadAllBytes(file).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(right, Path.GetFileName(file)))), $"{file} differs");
            }
        }
    }
}
