using FedTune.Cli.Reporting;
using FedTune.Cli.Simulation;
using FedTune.TestSupport;
using Xunit;
using Xunit.Abstractions;

namespace FedTune.Cli.Tests.Simulation;

/// <summary>
/// The main job end to end: real medical records, real Azurite, the real local Durable orchestrator and two real agent
/// processes, two rounds with a tiny model; then the report, the plots, the exported models and a clean shutdown.
/// </summary>
public sealed class SimulationEndToEndTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDirectory _temp = new("fedtune-sim-e2e");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Simulate_two_hospitals_two_rounds_on_real_records_beats_the_base_model_reports_everything_and_leaves_no_process()
    {
        var data = TestPaths.MedicalMeadowFile
            ?? throw new InvalidOperationException("The real medical data (../shared/data/medical-meadow/wikidoc_patient_information.json) is missing; this test needs it.");
        var model = TinyByteModel.Create(_temp.Path);
        var config = _temp.File("tiny.yaml");
        await File.WriteAllTextAsync(config, """
            dataset:
              name: medalpaca/medical_meadow_wikidoc_patient_information
            model:
              name: tiny-byte-neox
              lora:
                peft_lora_r: 8
                peft_lora_alpha: 16
                peft_lora_dropout: 0.0
                target_modules: [query_key_value, dense, dense_h_to_4h, dense_4h_to_h]
            train:
              save_every_round: 1
              seq_length: 96
              padding_side: left
              training_arguments:
                learning_rate: 0.01
                per_device_train_batch_size: 4
                max_steps: 8
            federation:
              rounds: 2
              min_fit_clients: 1
              min_available_clients: 1
            """);
        var runDir = _temp.File("run");
        var options = SimulationOptionsBinder.Bind(new SimulationOverrides
        {
            ConfigPath = config,
            ModelPath = model,
            Hospitals = 2,
            DataPath = data,
            EvalExamples = 24,
            RecordsPerHospital = 60,
            OutputDirectory = runDir,
            Compare = true,
            RoundDeadline = TimeSpan.FromMinutes(4),
        });
        var status = new SimulationStatus();
        status.Changed += line => output.WriteLine(line);

        var report = await new SimulationRunner(options, status, status.Say).RunAsync(CancellationToken.None);

        Assert.True(report.Outcome == RunOutcome.Completed, $"{report.Outcome}: {report.FailureMessage}");
        Assert.Equal([1, 2], report.Rounds.Select(r => r.Round));
        Assert.All(report.Rounds, r => Assert.Equal(2, r.Hospitals.Count(h => h.State == HospitalRoundState.Uploaded)));
        Assert.True(report.FinalGlobalEval!.MeanNll < report.BaseEval!.MeanNll,
            $"federated held-out NLL {report.FinalGlobalEval.MeanNll} is not below the base model's {report.BaseEval.MeanNll}");
        Assert.Equal(["centralized", "local-only", "local-only"], report.Baselines.Select(b => b.Arm));
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
