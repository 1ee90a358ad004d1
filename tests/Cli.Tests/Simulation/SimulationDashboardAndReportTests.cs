using System.CommandLine;
using FedTune.Cli.Commands;
using FedTune.Cli.Reporting;
using FedTune.Cli.Simulation;
using FedTune.Core.Storage;
using FedTune.TestSupport;
using Xunit;
using Xunit.Abstractions;

namespace FedTune.Cli.Tests.Simulation;

/// <summary>
/// The dashboard and the report from storage, on a real <c>fedtune simulate</c>: the address it prints opens in a real
/// headless Chromium and shows the run live (its rounds and the global held-out perplexity the runner scores), and
/// afterwards <c>fedtune report</c> rebuilds the same report.md and plots from the run's storage alone.
/// </summary>
[Collection(WholeMachineTests.Name)]
public sealed class SimulationDashboardAndReportTests(ITestOutputHelper output) : IDisposable
{
    private readonly TinySimulation _simulation = new("fedtune-sim-dash");

    public void Dispose() => _simulation.Dispose();

    [Fact]
    public async Task The_printed_dashboard_shows_the_run_live_and_fedtune_report_rebuilds_its_report_from_storage()
    {
        var options = _simulation.Options("""
            lora:
              peft_lora_r: 4
              peft_lora_alpha: 8
              peft_lora_dropout: 0.0
            train:
              seq_length: 256
              training_arguments:
                learning_rate: 0.01
                per_device_train_batch_size: 4
                max_steps: 2
            federation:
              rounds: 5
              min_fit_clients: 2
              min_available_clients: 2
            """, new SimulationOverrides { Hospitals = 2, EvalExamples = 8, RecordsPerHospital = 16, NoCompare = true, NoAudit = true });
        var runDir = _simulation.RunDirectory;

        // Watch the printed address in a browser while the federation runs. The browser starts first: a tiny run's
        // rounds take seconds, and a browser started after the address was printed could come up after the run ended.
        var address = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        string seenLive;
        Task<RunReport> simulation;
        await using (var browser = await HeadlessChromium.StartAsync())
        {
            simulation = TinySimulation.RunAsync(options, output, line =>
            {
                if (line.StartsWith("Dashboard: ", StringComparison.Ordinal)) address.TrySetResult(new Uri(line.Split(' ')[1]));
            });
            var printed = await Task.WhenAny(address.Task, simulation) == address.Task
                ? await address.Task
                : throw new InvalidOperationException("fedtune simulate ended without printing the dashboard's address.");
            await browser.NavigateAsync(printed);
            await browser.WaitUntilAsync(
                "const r = document.querySelector('#rounds tr[data-round=\"1\"]'); return !!r && /^\\d+\\.\\d\\d$/.test(r.cells[2].textContent) " +
                "&& document.getElementById('runtime-status').textContent === 'running'",
                "round 1 with its global held-out perplexity while the run is still going", TimeSpan.FromMinutes(5));
            seenLive = (await browser.EvaluateAsync("return document.querySelector('#rounds tr[data-round=\"1\"]').cells[2].textContent"))!.GetValue<string>();
            var console = await browser.ReadConsoleAsync();
            Assert.True(console.All(e => e.Level != "SEVERE"), "console errors: " + string.Join(" | ", console.Select(e => e.Message)));
        }
        var report = await simulation;
        Assert.True(report.Outcome == RunOutcome.Completed, $"{report.Outcome}: {report.FailureMessage}");
        Assert.Equal(report.Rounds[0].GlobalEval!.Perplexity.ToString("F2", System.Globalization.CultureInfo.InvariantCulture), seenLive);

        // fedtune report, from the run's storage alone (its Azurite data folder, served again).
        using var azurite = await AzuriteProcess.StartAsync(Path.Combine(runDir, ".state", "azurite"));
        var rebuilt = Path.Combine(_simulation.RunDirectory + "-report");
        var errors = new StringWriter();
        var stderr = Console.Error;
        Console.SetError(errors);
        int exit;
        try
        {
            exit = await new RootCommand { ReportCommand.Create() }
                .Parse(["report", "--run-id", report.RunId, "--storage", azurite.ConnectionString, "--out", rebuilt]).InvokeAsync();
        }
        finally
        {
            Console.SetError(stderr);
        }
        Assert.True(exit == 0, $"fedtune report exited {exit}: {errors}");
        var original = await File.ReadAllTextAsync(Path.Combine(runDir, ReportFolder.ReportFile));
        var fromStorage = await File.ReadAllTextAsync(Path.Combine(rebuilt, ReportFolder.ReportFile));
        Assert.Equal(Section(original, "## Held-out perplexity", "## Files"), Section(fromStorage, "## Held-out perplexity", "## Files"));
        foreach (var plot in new[] { ReportPlotter.PerplexityFile, ReportPlotter.TrainingLossFile, ReportPlotter.BytesFile })
        {
            Assert.True(new FileInfo(Path.Combine(rebuilt, plot)).Length > 10_000, plot + " is missing or trivially small");
        }
        Assert.Equal(MetricsRows(Path.Combine(runDir, ReportFolder.MetricsFile)), MetricsRows(Path.Combine(rebuilt, ReportFolder.MetricsFile)));

        // A run id the storage does not know: a one-line error that names the fix, exit code 1.
        var unknown = await Assert.ThrowsAsync<InvalidDataException>(() =>
            StoredRunReport.ReadAsync(FedTune.Core.Protocol.BlobStore.FromConnectionString(azurite.ConnectionString), "never-ran", CancellationToken.None));
        Assert.Contains("has no round records", unknown.Message, StringComparison.Ordinal);
        Assert.Contains("Fix:", unknown.Message, StringComparison.Ordinal);
        Assert.Equal(1, await new RootCommand { ReportCommand.Create() }
            .Parse(["report", "--run-id", "never-ran", "--storage", azurite.ConnectionString, "--out", rebuilt + "-unknown"]).InvokeAsync());
        Assert.False(Directory.Exists(rebuilt + "-unknown"));
    }

    private static string Section(string markdown, string from, string to)
    {
        int start = markdown.IndexOf(from, StringComparison.Ordinal);
        int end = markdown.IndexOf(to, StringComparison.Ordinal);
        Assert.True(start >= 0 && end > start, $"report.md lacks {from} … {to}:\n{markdown}");
        return markdown[start..end];
    }

    private static string[] MetricsRows(string path) => File.ReadAllLines(path);
}
