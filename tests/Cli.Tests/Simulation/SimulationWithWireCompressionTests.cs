using FedTune.Cli.Reporting;
using FedTune.Cli.Simulation;
using FedTune.Core.Adapters;
using Xunit;
using Xunit.Abstractions;

namespace FedTune.Cli.Tests.Simulation;

/// <summary>
/// train.wire_precision: int8 through the whole main job: every agent uploads int8 codes with absmax scales, the
/// orchestrator aggregates them and writes the global adapter in int8 too, so both directions carry a quarter of the
/// fp32 values' bytes plus scales and header (under 45 % of fp32 even for this tiny adapter; fp16 would be over 50 %),
/// and the run still completes, is evaluated, and its report states the precision and the bytes.
/// </summary>
public sealed class SimulationWithWireCompressionTests(ITestOutputHelper output) : IDisposable
{
    private readonly TinySimulation _simulation = new("fedtune-sim-int8");

    public void Dispose() => _simulation.Dispose();

    [Fact]
    public async Task An_int8_run_moves_under_half_the_fp32_bytes_both_ways_and_completes()
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
            Assert.True(h.BytesUp > 0 && h.BytesUp < fp32Bytes * 0.45, $"{h.HospitalId} uploaded {h.BytesUp} B; the fp32 adapter is {fp32Bytes} B"));
        // Round 1 starts from the orchestrator's round-0 adapter, written in fp32 before any upload, and the report counts it.
        Assert.All(report.Rounds[0].Hospitals, h => Assert.True(h.BytesDown >= fp32Bytes * 0.9, $"{h.HospitalId} downloaded {h.BytesDown} B in round 1"));
        Assert.All(report.Rounds[1].Hospitals, h =>
            Assert.True(h.BytesDown > 0 && h.BytesDown < fp32Bytes * 0.45, $"{h.HospitalId} downloaded {h.BytesDown} B; the fp32 adapter is {fp32Bytes} B"));
        Assert.NotNull(report.FinalGlobalEval);
        var markdown = await File.ReadAllTextAsync(Path.Combine(_simulation.RunDirectory, ReportFolder.ReportFile));
        Assert.Contains("| wire precision (adapters, both directions) | int8 |", markdown, StringComparison.Ordinal);
        Assert.Contains("Wire precision int8: adapters travelled as int8 both ways;", markdown, StringComparison.Ordinal);
    }
}
