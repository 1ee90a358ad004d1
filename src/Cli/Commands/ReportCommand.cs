using System.CommandLine;
using FedTune.Cli.Reporting;
using FedTune.Core.Protocol;

namespace FedTune.Cli.Commands;

/// <summary>
/// `fedtune report`: the report folder (report.md, metrics.csv, rounds.json, plots) of any run, rebuilt from what it
/// left in Blob Storage: a deployed federation gets the same report a simulate run writes.
/// </summary>
internal static class ReportCommand
{
    public static Command Create()
    {
        var runId = new Option<string>("--run-id") { Description = "The run's id (GET /api/runs lists them; simulate prints it).", Required = true };
        var storage = new Option<string?>("--storage")
        {
            Description = "The run's storage: a connection string (Azurite) or a blob endpoint https://ACCOUNT.blob.core.windows.net " +
                          "(signed in with DefaultAzureCredential). Default: FEDTUNE_STORAGE.",
        };
        var output = new Option<string?>("--out") { Description = "Report folder (default: runs/report/<run-id>)." };
        var command = new Command("report", "Write a run's report (report.md, metrics.csv, rounds.json, plots) from its round records in Blob Storage.")
        {
            runId, storage, output,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var id = parse.GetValue(runId)!;
            var where = parse.GetValue(storage) ?? Environment.GetEnvironmentVariable("FEDTUNE_STORAGE");
            if (string.IsNullOrWhiteSpace(where))
            {
                await Console.Error.WriteLineAsync("fedtune report: no storage given. Fix: pass --storage CONNECTION-STRING (or an https blob endpoint), or set FEDTUNE_STORAGE.")
                    .ConfigureAwait(false);
                return 2;
            }
            var folder = parse.GetValue(output) ?? Path.Combine(Directory.GetCurrentDirectory(), "runs", "report", id);
            try
            {
                var store = Uri.TryCreate(where, UriKind.Absolute, out var endpoint) && endpoint.Scheme == Uri.UriSchemeHttps
                    ? BlobStore.FromEndpoint(endpoint, new Azure.Identity.DefaultAzureCredential())
                    : BlobStore.FromConnectionString(where);
                var report = await StoredRunReport.ReadAsync(store, id, cancellationToken).ConfigureAwait(false);
                ReportFolder.Write(report, folder);
                Console.WriteLine($"Run {id}: {report.Rounds.Count} rounds ({report.Outcome.ToString().ToLowerInvariant()}); report in {Path.Combine(folder, ReportFolder.ReportFile)}");
                if (report.BaseEval is null && report.Rounds.All(r => r.GlobalEval is null))
                {
                    Console.WriteLine("No global held-out evaluations in storage (only an evaluator such as fedtune simulate writes them): the report has no global perplexity curve.");
                }
                return 0;
            }
            catch (Exception e) when (e is InvalidDataException or ArgumentException or FormatException or ProtocolFormatException or Azure.RequestFailedException
                                          or Azure.Identity.AuthenticationFailedException or IOException)
            {
                await Console.Error.WriteLineAsync("fedtune report: " + e.Message.Split('\n')[0]).ConfigureAwait(false);
                return 1;
            }
        });
        return command;
    }
}
