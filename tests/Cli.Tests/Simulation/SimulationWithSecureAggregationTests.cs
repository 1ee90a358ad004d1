using FedTune.Cli.Reporting;
using FedTune.Cli.Simulation;
using FedTune.Core.Formats;
using Xunit;
using Xunit.Abstractions;

namespace FedTune.Cli.Tests.Simulation;

/// <summary>
/// Secure aggregation through the whole main job: real agents publish keys, share their secrets encrypted to each other
/// and upload masked updates; the orchestrator relays, unmasks only the sum, and the global adapter equals the plain
/// run's (same seed) to fixed-point precision. Int8 wire compression through the same path shrinks every transfer.
/// </summary>
public sealed class SimulationWithSecureAggregationTests(ITestOutputHelper output) : IDisposable
{
    private const string Config = """
        lora:
          peft_lora_r: 4
          peft_lora_alpha: 8
        train:
          seq_length: 256
          training_arguments:
            learning_rate: 0.01
            per_device_train_batch_size: 4
            max_steps: 2
        federation:
          rounds: 2
          min_fit_clients: 3
          min_available_clients: 3

        """;

    private readonly TinySimulation _plain = new("fedtune-sim-plain");
    private readonly TinySimulation _secure = new("fedtune-sim-secagg");

    public void Dispose()
    {
        _plain.Dispose();
        _secure.Dispose();
    }

    [Fact]
    public async Task A_securely_aggregated_run_reports_it_and_ends_at_the_plain_runs_global_adapter()
    {
        var overrides = new SimulationOverrides { Hospitals = 3, EvalExamples = 8, RecordsPerHospital = 12, Seed = 11 };
        var plain = await TinySimulation.RunAsync(_plain.Options(Config, overrides), output);
        var secure = await TinySimulation.RunAsync(_secure.Options(Config + """
              secure_aggregation:
                enabled: true
                threshold: 2
            """, overrides), output);

        Assert.True(plain.Outcome == RunOutcome.Completed, $"plain: {plain.FailureMessage}");
        Assert.True(secure.Outcome == RunOutcome.Completed, $"secure: {secure.FailureMessage}");
        Assert.All(secure.Rounds, r =>
        {
            var facts = r.SecureAggregation ?? throw new InvalidOperationException($"round {r.Round} was not securely aggregated");
            Assert.Equal(3, facts.Survivors.Count);
            Assert.Equal(2, facts.Threshold);
        });
        Assert.All(plain.Rounds, r => Assert.Null(r.SecureAggregation));
        var markdown = await File.ReadAllTextAsync(Path.Combine(_secure.RunDirectory, ReportFolder.ReportFile));
        Assert.Contains("Secure aggregation (pairwise masking", markdown, StringComparison.Ordinal);

        // Masked uploads are 8-byte ring elements per value (plus the weight), twice the fp32 adapter.
        var plainUp = plain.Rounds[0].Hospitals.Sum(h => h.BytesUp);
        var secureUp = secure.Rounds[0].Hospitals.Sum(h => h.BytesUp);
        Assert.InRange(secureUp, 1.8 * plainUp, 2.2 * plainUp);

        // Same seed, same training: the unmasked mean equals plain FedAvg up to the fixed-point step (2^-24 per value and hospital);
        // round 2 trains from that round-1 global, so allow for the difference to grow a little through two more steps.
        using var expected = SafetensorsReader.Open(Path.Combine(_plain.RunDirectory, "global-adapter", "adapter_model.safetensors"));
        using var actual = SafetensorsReader.Open(Path.Combine(_secure.RunDirectory, "global-adapter", "adapter_model.safetensors"));
        Assert.Equal(expected.Tensors.Select(t => t.Name), actual.Tensors.Select(t => t.Name));
        foreach (var tensor in expected.Tensors)
        {
            var e = expected.ReadFloat32(tensor.Name);
            var a = actual.ReadFloat32(tensor.Name);
            var worst = e.Zip(a, (x, y) => Math.Abs(x - y)).Max();
            Assert.True(worst < 1e-5, $"{tensor.Name}: largest difference {worst} from the plain run");
        }
    }
}
