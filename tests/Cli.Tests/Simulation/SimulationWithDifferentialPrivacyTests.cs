using System.Text.Json.Nodes;
using FedTune.Cli.Reporting;
using FedTune.Cli.Simulation;
using FedTune.Training.Privacy;
using Xunit;
using Xunit.Abstractions;

namespace FedTune.Cli.Tests.Simulation;

/// <summary>
/// Client-level DP-FedAvg through the whole main job: the orchestrator's accountant reports ε per round, the report
/// shows it, and the privacy audit labels the DP arm with the ε of each checkpoint (growing round by round).
/// </summary>
public sealed class SimulationWithDifferentialPrivacyTests(ITestOutputHelper output) : IDisposable
{
    private readonly TinySimulation _simulation = new("fedtune-sim-dp");

    public void Dispose() => _simulation.Dispose();

    [Fact]
    public async Task A_dp_run_reports_the_epsilon_spent_per_round_and_the_audit_shows_each_checkpoints_epsilon()
    {
        var options = _simulation.Options("""
            lora:
              peft_lora_r: 4
              peft_lora_alpha: 8
              peft_lora_dropout: 0.0
            train:
              save_every_round: 1
              seq_length: 256
              training_arguments:
                learning_rate: 0.01
                per_device_train_batch_size: 4
                max_steps: 2
            federation:
              rounds: 2
              min_fit_clients: 2
              min_available_clients: 2
              differential_privacy:
                clip_norm: 1.0
                noise_multiplier: 1.0
                delta: 1e-5
            """, new SimulationOverrides { Hospitals = 2, EvalExamples = 8, RecordsPerHospital = 16, NoCompare = true, Canaries = 0, AuditBootstrap = 50 });
        var runDir = _simulation.RunDirectory;

        var report = await TinySimulation.RunAsync(options, output);

        Assert.True(report.Outcome == RunOutcome.Completed, $"{report.Outcome}: {report.FailureMessage}");
        var spent = report.Rounds.Select(r => r.DpEpsilon ?? throw new InvalidOperationException($"round {r.Round} has no ε")).ToList();
        Assert.Equal(2, spent.Count);
        Assert.True(spent[0] > 0 && spent[1] > spent[0], $"ε must be positive and grow with the rounds: {string.Join(", ", spent)}");

        var markdown = await File.ReadAllTextAsync(Path.Combine(runDir, ReportFolder.ReportFile));
        Assert.Contains("ε so far", markdown, StringComparison.Ordinal);
        Assert.Contains($"({PrivacyAuditMarkdown.Epsilon(spent[1])}, δ)-DP", markdown, StringComparison.Ordinal);

        var audit = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(runDir, "privacy", PrivacyAuditResult.JsonFileName)))!;
        var models = audit["models"]!.AsArray().ToDictionary(m => (string)m!["label"]!, m => m!);
        Assert.Equal("FederatedDp", (string)models["federated"]["arm"]!);
        Assert.Equal(spent[1], (double)models["federated"]["epsilon"]!, 9);
        // The run's own audit covers the final models; every checkpoint, with the ε spent up to its round, is listed for `fedtune privacy-audit --run`.
        Assert.False(models.ContainsKey("round 1"));
        var checkpoints = AuditInputsFile.Load(Path.Combine(runDir, AuditInputsFile.FileName)).Models.Where(m => m.Round is not null).ToList();
        Assert.Equal([spent[0], spent[1]], checkpoints.Select(m => m.Epsilon!.Value));
        Assert.All(checkpoints, m => Assert.Equal(TrainingArm.FederatedDp, m.Arm));
    }
}
