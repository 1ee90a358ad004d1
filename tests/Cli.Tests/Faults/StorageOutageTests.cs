using FedTune.Cli.Reporting;
using FedTune.Cli.Simulation;
using FedTune.Cli.Tests.Simulation;
using FedTune.Core.Storage;
using Xunit;
using Xunit.Abstractions;

namespace FedTune.Cli.Tests.Faults;

/// <summary>Storage that stays down past the run's limit: the run stops, marked failed, in one line with the resume command.</summary>
public sealed class StorageOutageTests(ITestOutputHelper output) : IDisposable
{
    private readonly TinySimulation _simulation = new("fedtune-outage");

    public void Dispose() => _simulation.Dispose();

    [Fact]
    public async Task Storage_down_past_the_limit_fails_the_run_with_the_reason_and_the_command_that_resumes_it()
    {
        // Nothing listens on these ports: every storage call is refused, as during an outage.
        var unreachable = AzuriteProcess.ConnectionStringFor(AzuriteProcess.FreeTcpPort(), AzuriteProcess.FreeTcpPort(), AzuriteProcess.FreeTcpPort());
        var options = _simulation.Options("""
            train:
              seq_length: 128
              training_arguments:
                max_steps: 1
            federation:
              rounds: 1
            """, new SimulationOverrides { Hospitals = 1, EvalExamples = 4, RecordsPerHospital = 4, NoCompare = true, NoAudit = true, StorageConnectionString = unreachable }) with
        {
            StorageOutageLimit = TimeSpan.FromSeconds(3),
        };
        var lines = new List<string>();

        var report = await TinySimulation.RunAsync(options, output, lines.Add);

        Assert.Equal(RunOutcome.Failed, report.Outcome);
        var message = report.FailureMessage!;
        Assert.DoesNotContain('\n', message);
        Assert.Contains("storage was unreachable for more than", message, StringComparison.Ordinal);
        Assert.Contains("resume with: fedtune simulate --out", message, StringComparison.Ordinal);
        Assert.Contains("--resume", message, StringComparison.Ordinal);
        Assert.Contains(RunFailure.LogFile, message, StringComparison.Ordinal);
        Assert.Contains("   at ", await File.ReadAllTextAsync(Path.Combine(_simulation.RunDirectory, RunFailure.LogFile)), StringComparison.Ordinal);
        Assert.Single(lines, l => l.StartsWith("Storage unreachable while", StringComparison.Ordinal));
        Assert.Equal(RunOutcome.Failed, new RunFolder(_simulation.RunDirectory).ReadState()!.Outcome);
    }

    [Fact]
    public void The_sdk_aggregate_of_refused_connections_is_an_outage_named_in_one_line()
    {
        var refused = new AggregateException("Retry failed after 6 tries.",
            Enumerable.Range(0, 6).Select(_ => new Azure.RequestFailedException("Connection refused (127.0.0.1:10000)", new HttpRequestException("Connection refused (127.0.0.1:10000)"))));
        Assert.True(StorageFailure.IsOutage(refused));
        Assert.Equal("Connection refused (127.0.0.1:10000)", StorageFailure.Describe(refused));
        Assert.False(StorageFailure.IsOutage(new Azure.RequestFailedException(403, "This request is not authorized")));
    }
}
