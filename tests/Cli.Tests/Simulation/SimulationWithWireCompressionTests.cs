using FedTune.Cli.Reporting;
using FedTune.Cli.Simulation;
using FedTune.Core.Adapters;
using Xunit;
using Xunit.Abstractions;

namespace FedTune.Cli.Tests.Simulation;

/// <summary>
/// train.wire_precision: int8 through the whole main job: every agent uploads int8 codes with absmax scales, the
/// orchestrator aggregates them and writes the global adapter in int8 too, so both directions carry about a quarter
/// of the fp32 bytes, and the run still completes and is evaluated.
/// </summary>
public sealed class SimulationWithWireCompressionTests(ITestOutputHelper output) : IDisposable
{
    private readonly TinySimulation _simulation = new("fedtune-sim-int8");

    public void Dispose() => _simulation.Dispose();

    [Fact]
    public async Task An_int8_run_moves_about_a_quarter_of_the_fp32_bytes_both_ways_and_completes()
    {
        var options = _simulation.Options("""
            lora:
              peft_lora_r: 8
              peft_lora_alpha: 16
            train:
              seq_length: 256
              wire_precision: int8
              training_arguments:
                learning_rate: 0.01
                per_device_train_batch_size: 4
                max_steps: 2
            federation:
              rounds: 2
              min_fit_clients: 2
              min_available_clients: 2
            """, new SimulationOverrides { Hospitals = 2, EvalExamples = 8, RecordsPerHospital = 12, Seed = 5 });

        var report = await TinySimulation.RunAsync(options, output);

        Assert.True(report.Outcome == RunOutcome.Completed, $"{report.Outcome}: {report.FailureMessage}");
        var fp32Bytes = PeftAdapterFolder.Load(Path.Combine(_simulation.RunDirectory, "global-adapter")).ByteSize;
        Assert.All(report.Rounds.SelectMany(r => r.Hospitals), h =>
            Assert.True(h.BytesUp > 0 && h.BytesUp < fp32Bytes * 0.3, $"{h.HospitalId} uploaded {h.BytesUp} B; the fp32 adapter is {fp32Bytes} B"));
        Assert.All(report.Rounds[1].Hospitals, h =>
            Assert.True(h.BytesDown > 0 && h.BytesDown < fp32Bytes * 0.3, $"{h.HospitalId} downloaded {h.BytesDown} B; the fp32 adapter is {fp32Bytes} B"));
        Assert.NotNull(report.FinalGlobalEval);
    }
}
