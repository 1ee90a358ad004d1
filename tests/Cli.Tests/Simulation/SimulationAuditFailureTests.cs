using FedTune.Cli.Commands;
using FedTune.Cli.Reporting;
using FedTune.Cli.Simulation;
using FedTune.TestSupport;
using Xunit;
using Xunit.Abstractions;

namespace FedTune.Cli.Tests.Simulation;

/// <summary>
/// A privacy audit that fails after the federation completed (here: a file stands where privacy/ must be created)
/// leaves the run completed, its models and report intact, says how to retry the audit alone, and exits non-zero.
/// </summary>
public sealed class SimulationAuditFailureTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDirectory _temp = new("fedtune-sim-audit-fail");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task A_failed_audit_keeps_the_completed_federation_and_names_the_retry_command()
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
                peft_lora_r: 4
                peft_lora_alpha: 8
            train:
              seq_length: 256
              training_arguments:
                learning_rate: 0.01
                per_device_train_batch_size: 4
                max_steps: 2
            federation:
              rounds: 1
              min_fit_clients: 2
              min_available_clients: 2
            """);
        var runDir = _temp.File("run");
        var options = SimulationOptionsBinder.Bind(new SimulationOverrides
        {
            ConfigPath = config,
            ModelPath = model,
            Hospitals = 2,
            DataPath = data,
            EvalExamples = 8,
            RecordsPerHospital = 12,
            OutputDirectory = runDir,
            RoundDeadline = TimeSpan.FromMinutes(4),
            Audit = true,
            AuditBootstrap = 20,
        });
        var status = new SimulationStatus();
        var blocker = Path.Combine(runDir, SimulationAuditWiring.PrivacyFolderName);
        status.Changed += line =>
        {
            output.WriteLine(line);
            if (line.StartsWith("privacy audit:", StringComparison.Ordinal)) File.WriteAllText(blocker, "a file where the audit's folder must go");
        };

        var report = await new SimulationRunner(options, status, status.Say).RunAsync(CancellationToken.None);

        Assert.True(File.Exists(blocker), "the test's blocking file was never written: the audit stage did not start");
        Assert.True(report.Outcome == RunOutcome.Completed, $"{report.Outcome}: {report.FailureMessage}");
        Assert.NotNull(report.AuditFailure);
        Assert.Equal(1, SimulateCommand.ExitCode(report));
        Assert.True(File.Exists(Path.Combine(runDir, "global-adapter", "adapter_model.safetensors")));
        Assert.True(File.Exists(Path.Combine(runDir, "privacy-audit-inputs.json")));

        var markdown = await File.ReadAllTextAsync(Path.Combine(runDir, ReportFolder.ReportFile));
        Assert.Contains("Outcome: **completed**", markdown, StringComparison.Ordinal);
        Assert.Contains("The privacy audit failed:", markdown, StringComparison.Ordinal);
        Assert.Contains($"fedtune privacy-audit --run {runDir}", markdown, StringComparison.Ordinal);
        var fromDisk = RunReportJson.Read(Path.Combine(runDir, ReportFolder.RoundsFile));
        Assert.Equal(RunOutcome.Completed, fromDisk.Outcome);
        Assert.Equal(report.AuditFailure, fromDisk.AuditFailure);
    }
}
