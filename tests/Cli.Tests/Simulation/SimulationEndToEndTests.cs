using System.CommandLine;
using System.Text.Json.Nodes;
using FedTune.Cli.Commands;
using FedTune.Cli.Reporting;
using FedTune.Cli.Simulation;
using FedTune.Training.Privacy;
using Xunit;
using Xunit.Abstractions;

namespace FedTune.Cli.Tests.Simulation;

/// <summary>
/// The main job end to end: real medical records, real Azurite, the real local Durable orchestrator and two real agent
/// processes, two rounds with a tiny model; then the report, the plots, the exported models and a clean shutdown.
/// </summary>
public sealed class SimulationEndToEndTests(ITestOutputHelper output) : IDisposable
{
    private readonly TinySimulation _simulation = new("fedtune-sim-e2e");

    public void Dispose() => _simulation.Dispose();

    [Fact]
    public async Task Simulate_two_hospitals_two_rounds_on_real_records_beats_the_base_model_reports_everything_audits_privacy_and_leaves_no_process()
    {
        var options = _simulation.Options("""
            lora:
              peft_lora_r: 8
              peft_lora_alpha: 16
              peft_lora_dropout: 0.0
              target_modules: [query_key_value, dense, dense_h_to_4h, dense_4h_to_h]
            train:
              save_every_round: 1
              seq_length: 400
              padding_side: left
              training_arguments:
                learning_rate: 0.02
                per_device_train_batch_size: 4
                max_steps: 6
            federation:
              rounds: 2
              min_fit_clients: 1
              min_available_clients: 1
            """, new SimulationOverrides
        {
            Hospitals = 2,
            EvalExamples = 16,
            RecordsPerHospital = 40,
            Compare = true,
            Audit = true,
            Canaries = 2,
            CanaryCandidates = 50,
            AuditBootstrap = 100,
        });
        var runDir = _simulation.RunDirectory;

        var report = await TinySimulation.RunAsync(options, output);

        Assert.True(report.Outcome == RunOutcome.Completed, $"{report.Outcome}: {report.FailureMessage}");
        Assert.Equal([1, 2], report.Rounds.Select(r => r.Round));
        Assert.All(report.Rounds, r => Assert.Equal(2, r.Hospitals.Count(h => h.State == HospitalRoundState.Uploaded)));
        // Each agent loads its base model once for the run and keeps it for round 2 (ModelCache, on by default).
        Assert.All(report.Rounds.SelectMany(r => r.Hospitals), h => Assert.Equal(1, h.Ran!.BaseModelLoads));
        Assert.All(report.Rounds[0].Hospitals, h => Assert.True(h.ModelLoadSeconds > 0, $"{h.HospitalId} loaded no model in round 1"));
        Assert.All(report.Rounds[1].Hospitals, h => Assert.Equal(0, h.ModelLoadSeconds));
        // Each uploaded hospital's busy time comes from its manifest, and the round's idle time is read beside it.
        Assert.All(report.Rounds.SelectMany(r => r.Hospitals), h => Assert.True(h.BusySeconds > 0, $"{h.HospitalId} has no busy_seconds"));
        Assert.All(report.Rounds, r => Assert.Equal(r.DurationSeconds - r.Hospitals.Max(h => h.BusySeconds), r.IdleSeconds!.Value, 9));
        Assert.True(report.FinalGlobalEval!.MeanNll < report.BaseEval!.MeanNll,
            $"federated held-out NLL {report.FinalGlobalEval.MeanNll} is not below the base model's {report.BaseEval.MeanNll}");
        Assert.Equal(["centralized", "local-only", "local-only"], report.Baselines.Select(b => b.Arm));

        // Hospitals hold specialties; every arm's final model is scored per specialty, each local-only model on the other hospital's too.
        Assert.Equal(["base model", "federated", "local-only hospital-1", "local-only hospital-2", "centralized"], report.ArmScores.Select(a => a.Label));
        var localOne = report.ArmScores.Single(a => a.Label == "local-only hospital-1");
        Assert.Contains(localOne.BySpecialty, s => s.HeldBy.SequenceEqual(["hospital-2"]));
        Assert.Contains(localOne.BySpecialty, s => s.HeldBy.SequenceEqual(["hospital-1"]));
        Assert.All(report.ArmScores, a => Assert.Equal(a.All.Tokens, a.BySpecialty.Sum(s => s.Eval.Tokens)));
        Assert.Equal(report.ArmScores[0].All.MeanNll, report.BaseEval!.MeanNll, 4);
        Assert.Equal(report.FinalGlobalEval!.MeanNll, report.ArmScores[1].All.MeanNll, 3);
        Assert.Equal(3, report.Answers.Count);
        Assert.All(report.Answers, q => Assert.Equal(["base model", "federated", "local-only hospital-1", "centralized"], q.Answers.Select(a => a.Label)));
        Assert.All(report.Baselines, b => Assert.Equal([1, 2], b.Points.Select(p => p.Round)));

        foreach (var file in new[] { ReportFolder.MetricsFile, ReportFolder.RoundsFile, ReportFolder.ReportFile })
        {
            Assert.True(File.Exists(Path.Combine(runDir, file)), file);
        }
        foreach (var plot in new[] { ReportPlotter.PerplexityFile, ReportPlotter.TrainingLossFile, ReportPlotter.BytesFile })
        {
            Assert.True(new FileInfo(Path.Combine(runDir, plot)).Length > 10_000, plot + " is missing or trivially small");
        }
        var fromDisk = RunReportJson.Read(Path.Combine(runDir, ReportFolder.RoundsFile));
        Assert.Equal(report.Rounds.Select(r => r.Round), fromDisk.Rounds.Select(r => r.Round));
        Assert.True(File.Exists(Path.Combine(runDir, "global-adapter", "adapter_config.json")));
        Assert.True(File.Exists(Path.Combine(runDir, "global-adapter", "adapter_model.safetensors")));
        Assert.True(File.Exists(Path.Combine(runDir, "merged-model", "config.json")));
        Assert.True(File.Exists(Path.Combine(runDir, "merged-model", "model.safetensors")));
        Assert.True(File.Exists(Path.Combine(runDir, "data", "hospital-1", "train.jsonl")));
        Assert.True(File.Exists(Path.Combine(runDir, "baselines", "centralized", "adapter", "adapter_model.safetensors")));
        Assert.True(File.Exists(Path.Combine(runDir, "baselines", "local-only", "hospital-2", "adapter", "adapter_config.json")));

        // The privacy audit (--audit --canaries 2): inputs file, privacy/ folder, report section, and the standalone command on the same folder.
        var canaries = FedTune.Core.Privacy.CanarySet.Load(Path.Combine(runDir, FedTune.Core.Privacy.CanarySet.FileName));
        Assert.Equal(2, canaries.Canaries.Count);
        var hospital1 = await File.ReadAllTextAsync(Path.Combine(runDir, "data", "hospital-1", "train.jsonl"));
        Assert.All(canaries.Canaries, c => Assert.Contains(c.Secret, hospital1, StringComparison.Ordinal));
        var inputs = AuditInputsFile.Load(Path.Combine(runDir, AuditInputsFile.FileName));
        Assert.Equal(["federated", "round 1", "round 2", "centralized", "local-only hospital-1", "local-only hospital-2"], inputs.Models.Select(m => m.Label));
        Assert.Equal(2, inputs.MembersFiles.Count);
        Assert.Equal(3, inputs.NonMembersFiles.Count);
        Assert.NotNull(inputs.CanaryFile);
        var auditJson = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(runDir, "privacy", PrivacyAuditResult.JsonFileName)))!;
        // The run's own audit covers each arm's final model (and the base model as a control); the standalone command adds every round's checkpoint.
        Assert.Equal(["base", "federated", "centralized", "local-only hospital-1", "local-only hospital-2"],
            auditJson["models"]!.AsArray().Select(m => (string)m!["label"]!));
        Assert.Equal(2, auditJson["models"]![1]!["canaries"]!.AsArray().Count);
        var markdown = await File.ReadAllTextAsync(Path.Combine(runDir, ReportFolder.ReportFile));
        Assert.Contains("## Why federate: every arm on the same held-out records", markdown, StringComparison.Ordinal);
        Assert.Contains("### The same held-out questions, answered by each model", markdown, StringComparison.Ordinal);
        Assert.Contains("## Privacy audit", markdown, StringComparison.Ordinal);
        Assert.Contains("What the audit found, per arm", markdown, StringComparison.Ordinal);
        Assert.Contains("- **local-only hospital-2** (LocalOnly): ", markdown, StringComparison.Ordinal);
        Assert.Contains("(privacy/privacy-roc-loss.png)", markdown, StringComparison.Ordinal);
        Assert.True(new FileInfo(Path.Combine(runDir, "privacy", "privacy-roc-loss.png")).Length > 10_000);

        var cliOutput = Path.Combine(runDir, "privacy-cli");
        var exit = await new RootCommand { PrivacyAuditCommand.Create() }
            .Parse(["privacy-audit", "--run", runDir, "--output", cliOutput, "--bootstrap", "50"]).InvokeAsync();
        Assert.Equal(0, exit);
        var cliJson = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(cliOutput, PrivacyAuditResult.JsonFileName)))!;
        Assert.Equal(["base", .. inputs.Models.Select(m => m.Label)], cliJson["models"]!.AsArray().Select(m => (string)m!["label"]!));

        // Clean shutdown: no agent, watcher or Azurite process of this run is left.
        await ChildProcessSupervisorTests.WaitForAsync(() => ProcessesMentioning(runDir).Count == 0, TimeSpan.FromSeconds(30));
        Assert.Empty(ProcessesMentioning(runDir));
    }

    private static List<string> ProcessesMentioning(string text)
    {
        var found = new List<string>();
        foreach (var dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid) || pid == Environment.ProcessId) continue;
            if (!ChildProcessSupervisorTests.ProcessExists(pid)) continue;
            var cmd = ChildProcessSupervisorTests.CommandLine(pid);
            if (cmd.Contains(text, StringComparison.Ordinal)) found.Add($"{pid}: {cmd}");
        }
        return found;
    }
}
