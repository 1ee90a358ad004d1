using FedTune.Cli.Reporting;
using FedTune.Cli.Simulation;
using FedTune.Core.Formats;
using Xunit;
using Xunit.Abstractions;

namespace FedTune.Cli.Tests.Simulation;

/// <summary>
/// --seed means what it says: two whole runs with one seed (different run ids, folders and storage) give the same
/// global adapter and the same held-out figures, round after round.
/// </summary>
public sealed class SimulationReproducibilityTests(ITestOutputHelper output) : IDisposable
{
    private const string Config = TinySimulation.TwoHospitalsTwoRounds;

    private readonly TinySimulation _first = new("fedtune-sim-repro-a");
    private readonly TinySimulation _second = new("fedtune-sim-repro-b");

    public void Dispose()
    {
        _first.Dispose();
        _second.Dispose();
    }

    [Fact]
    public async Task Two_runs_with_the_same_seed_give_the_same_global_adapter_and_held_out_figures()
    {
        var overrides = new SimulationOverrides { Hospitals = 2, EvalExamples = 8, RecordsPerHospital = 12, Seed = 7, NoCompare = true, NoAudit = true };
        var a = await TinySimulation.RunAsync(_first.Options(Config, overrides), output);
        var b = await TinySimulation.RunAsync(_second.Options(Config, overrides), output);

        Assert.True(a.Outcome == RunOutcome.Completed && b.Outcome == RunOutcome.Completed, $"{a.FailureMessage} {b.FailureMessage}");
        Assert.NotEqual(a.RunId, b.RunId);
        Assert.Equal(a.Rounds.Select(r => r.GlobalEval!.MeanNll), b.Rounds.Select(r => r.GlobalEval!.MeanNll));
        Assert.Equal(a.Rounds.Select(r => r.Hospitals.Select(h => h.TrainLoss).ToList()), b.Rounds.Select(r => r.Hospitals.Select(h => h.TrainLoss).ToList()));

        using var first = SafetensorsReader.Open(Path.Combine(_first.RunDirectory, "global-adapter", "adapter_model.safetensors"));
        using var second = SafetensorsReader.Open(Path.Combine(_second.RunDirectory, "global-adapter", "adapter_model.safetensors"));
        Assert.Equal(first.Tensors.Select(t => t.Name), second.Tensors.Select(t => t.Name));
        Assert.NotEmpty(first.Tensors);
        foreach (var tensor in first.Tensors)
        {
            Assert.True(first.ReadFloat32(tensor.Name).SequenceEqual(second.ReadFloat32(tensor.Name)), $"{tensor.Name} differs between the two runs");
        }
    }
}
