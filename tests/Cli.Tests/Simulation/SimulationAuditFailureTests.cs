using FedTune.Cli.Commands;
using FedTune.Cli.Reporting;
using FedTune.Cli.Simulation;
using Xunit;
using Xunit.Abstractions;

namespace FedTune.Cli.Tests.Simulation;

/// <summary>
/// A privacy audit that fails after the federation completed (here: a file stands where privacy/ must be created)
/// leaves the run completed, its models and report intact, says how to retry the audit alone, and exits non-zero.
/// </summary>
public sealed class SimulationAuditFailureTests(ITestOutputHelper output) : IDisposable
{
    private readonly TinySimulation _simulation = new("fedtune-sim-audit-fail");

    public void Dispose() => _simulation.Dispose();

    [Fact]
    public async Task A_failed_audit_keeps_the_completed_federation_and_names_the_retry_command()
    {
        var options = _simulation.Options("""
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
            """, new SimulationOverrides { Hospitals = 2, EvalExamples = 8, RecordsPerHospital = 12, NoCompare = true, Canaries = 0, AuditBootstrap = 20 });
        var runDir = _simulation.RunDirectory;
        var blocker = Path.Combine(runDir, SimulationAuditWiring.PrivacyFolderName);

        var report = await TinySimulation.RunAsync(options, output, line =>
        {
            if (line.StartsWith("privacy audit:", StringComparison.Ordinal)) File.WriteAllText(blocker, "a file where the audit's folder must go");
        });

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
