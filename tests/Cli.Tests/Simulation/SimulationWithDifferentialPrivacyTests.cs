using FedTune.Core.Formats;
using System.Text.Json.Nodes;
using FedTune.Cli.Reporting;
using FedTune.Cli.Simulation;
using FedTune.Training.Privacy;
using Xunit;
using Xunit.Abstractions;

namespace FedTune.Cli.Tests.Simulation;

/// <summary>
/// DP as a further arm of the main job: a YAML with DP runs the plain federation and, beside it, the same federation
/// with DP (its own run id and rounds). Here hospital-level DP-FedAvg: the orchestrator's accountant reports ε per
/// round of the DP arm only, the report shows both arms, and the privacy audit labels the DP arm with the ε of each
/// checkpoint (growing round by round) and the plain arm without one.
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
        Assert.True(options.Dp, "a YAML with differential_privacy asks for the DP arm");
        Assert.Equal(2, report.Rounds.Count);
        Assert.All(report.Rounds, r => Assert.Null(r.DpEpsilon)); // the plain arm runs without DP
        var dp = report.PrivateFederation ?? throw new InvalidOperationException("the run has no DP arm");
        Assert.Equal(report.RunId + PrivateArm.RunIdSuffix, dp.RunId);
        Assert.Contains("hospital-level DP-FedAvg", dp.Privacy, StringComparison.Ordinal);
        var spent = dp.Rounds.Select(r => r.DpEpsilon ?? throw new InvalidOperationException($"DP round {r.Round} has no ε")).ToList();
        Assert.Equal(2, spent.Count);
        Assert.True(spent[0] > 0 && spent[1] > spent[0], $"ε must be positive and grow with the rounds: {string.Join(", ", spent)}");
        Assert.All(dp.Rounds, r => Assert.NotNull(r.GlobalEval));
        Assert.Contains(report.ArmScores, a => a.Arm == PrivateArm.Name);
        Assert.Contains(report.ArmScores, a => a.Arm == "federated");

        var markdown = await File.ReadAllTextAsync(Path.Combine(runDir, ReportFolder.ReportFile));
        Assert.Contains("## " + PrivateFederationMarkdown.Title, markdown, StringComparison.Ordinal);
        Assert.Contains("ε per hospital so far", markdown, StringComparison.Ordinal);
        Assert.Contains($"With differential privacy (ε {PrivacyAuditMarkdown.Epsilon(spent[1])})", markdown, StringComparison.Ordinal);
        var csv = await File.ReadAllLinesAsync(Path.Combine(runDir, "metrics.csv"));
        Assert.Equal(4, csv.Count(l => l.Split(',')[1] == PrivateArm.Name)); // 2 rounds x 2 hospitals

        var audit = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(runDir, "privacy", PrivacyAuditResult.JsonFileName)))!;
        var models = audit["models"]!.AsArray().ToDictionary(m => (string)m!["label"]!, m => m!);
        Assert.Equal("Federated", (string)models["federated"]["arm"]!);
        Assert.Equal("FederatedDp", (string)models[PrivateArm.Label]["arm"]!);
        Assert.Equal(spent[1], (double)models[PrivateArm.Label]["epsilon"]!, 9);
        // The run's own audit covers the final models; every checkpoint, with the ε spent up to its round, is listed for `fedtune privacy-audit --run`.
        Assert.False(models.ContainsKey("round 1"));
        var checkpoints = AuditInputsFile.Load(Path.Combine(runDir, AuditInputsFile.FileName)).Models.Where(m => m.Round is not null && m.Arm == TrainingArm.FederatedDp).ToList();
        Assert.Equal([spent[0], spent[1]], checkpoints.Select(m => m.Epsilon!.Value));
        Assert.All(checkpoints, m => Assert.True(File.Exists(m.Path), m.Path));
    }

    [Fact]
    public async Task Dp_runs_record_level_dp_sgd_as_a_further_arm_whose_epsilon_per_record_the_report_and_the_audit_carry()
    {
        using var simulation = new TinySimulation("fedtune-sim-dp-record");
        var options = simulation.Options(TinySimulation.TwoHospitalsTwoRounds,
            new SimulationOverrides { Hospitals = 2, EvalExamples = 8, RecordsPerHospital = 16, NoCompare = true, Canaries = 0, AuditBootstrap = 50, Dp = true });
        var runDir = simulation.RunDirectory;

        var report = await TinySimulation.RunAsync(options, output);

        Assert.True(report.Outcome == RunOutcome.Completed, $"{report.Outcome}: {report.FailureMessage}");
        Assert.All(report.Rounds, r => Assert.Null(r.RecordEpsilon));
        var dp = report.PrivateFederation ?? throw new InvalidOperationException("--dp ran no DP arm");
        Assert.Contains("record-level DP-SGD", dp.Privacy, StringComparison.Ordinal);
        var spent = dp.Rounds.Select(r => r.RecordEpsilon ?? throw new InvalidOperationException($"DP round {r.Round} has no record-level ε")).ToList();
        Assert.Equal(2, spent.Count);
        Assert.True(spent[0] > 0 && spent[1] > spent[0], $"ε must be positive and grow with the rounds: {string.Join(", ", spent)}");
        Assert.All(dp.Rounds, r => Assert.Null(r.DpEpsilon));
        Assert.All(dp.Rounds[^1].Hospitals, h => Assert.Equal(PrivateArm.DefaultRecordPrivacy.NoiseMultiplier, h.Ran?.RecordPrivacy?.NoiseMultiplier));
        Assert.All(report.Rounds[^1].Hospitals, h => Assert.Null(h.Ran?.RecordPrivacy));

        // Same seed, same data: only DP separates the two arms' final adapters.
        using var plain = SafetensorsReader.Open(Path.Combine(runDir, "global-adapter", "adapter_model.safetensors"));
        using var withDp = SafetensorsReader.Open(Path.Combine(runDir, "global-adapter-dp", "adapter_model.safetensors"));
        Assert.Contains(plain.Tensors, t => !plain.ReadFloat32(t.Name).SequenceEqual(withDp.ReadFloat32(t.Name)));

        var markdown = await File.ReadAllTextAsync(Path.Combine(runDir, ReportFolder.ReportFile));
        Assert.Contains("ε per record so far", markdown, StringComparison.Ordinal);
        Assert.True(dp.TrainedParameters > 0, "the DP arm's trained parameter count explains its noise");
        Assert.Contains("Why DP costs what it does here", markdown, StringComparison.Ordinal);
        Assert.Contains($"With differential privacy (ε {PrivacyAuditMarkdown.Epsilon(spent[1])})", markdown, StringComparison.Ordinal);
        var audit = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(runDir, "privacy", PrivacyAuditResult.JsonFileName)))!;
        var models = audit["models"]!.AsArray().ToDictionary(m => (string)m!["label"]!, m => m!);
        Assert.Equal("FederatedDp", (string)models[PrivateArm.Label]["arm"]!);
        Assert.Equal(spent[1], (double)models[PrivateArm.Label]["epsilon"]!, 9);
    }
}
