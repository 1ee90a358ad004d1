using System.CommandLine;
using FedTune.Cli.Reporting;
using FedTune.Cli.Simulation;
using FedTune.Core.Configuration;

namespace FedTune.Cli.Commands;

/// <summary>`fedtune simulate`: a whole federation on this machine on real medical data, with progress, baselines and a report.</summary>
internal static class SimulateCommand
{
    public static Command Create()
    {
        var shared = new SimulationCommandOptions();
        var compare = new Option<bool>("--compare") { Description = "Train the centralized and local-only baselines on the same splits and step budget (the default; kept for older scripts)." };
        var noCompare = new Option<bool>("--no-compare") { Description = "Skip the centralized and local-only baselines (the report then has no comparison)." };
        var dp = new Option<bool>("--dp") { Description = "Also run the federation with differential privacy, as a further arm scored, compared and audited beside the plain one (the YAML's train.differential_privacy or federation.differential_privacy when given, else record-level DP-SGD with clip_norm " + FormattableString.Invariant($"{PrivateArm.DefaultRecordPrivacy.ClipNorm} and noise_multiplier {PrivateArm.DefaultRecordPrivacy.NoiseMultiplier}") + "); a YAML with either section turns it on." };
        var noAudit = new Option<bool>("--no-audit") { Description = "Skip the privacy audit that runs after the federation by default." };
        var retrainBaselines = new Option<bool>("--retrain-baselines") { Description = "Train the baselines even when an identical earlier run's (same build, base model, data, recipe, rounds and seed) are cached in ~/.local/share/fedtune/baselines." };
        var resume = new Option<bool>("--resume") { Description = "Resume the unfinished run in --out (an error when there is none)." };
        var fresh = new Option<bool>("--fresh") { Description = "Discard any earlier run in --out and start again." };
        var deadline = new Option<TimeSpan?>("--round-deadline") { Description = "How long a round waits for uploads before a hospital is a straggler (default 00:20:00)." };
        var outageLimit = new Option<TimeSpan?>("--storage-outage-limit") { Description = "How long storage may stay unreachable (retried, the private Azurite restarted) before the run stops, marked failed and resumable (default 00:10:00)." };
        var audit = new Option<bool>("--audit") { Description = "Run the privacy audit after the federation (the default; kept for older scripts)." };
        var canaries = new Option<int?>("--canaries") { Description = $"Plant K canary records (a fake patient with a fake record number) in hospital-1's training shard; the audit reports their exposure per arm (default {SimulationDefaults.Canaries} when the audit runs, 0 with --no-audit)." };
        var canaryCandidates = new Option<int?>("--canary-candidates") { Description = $"Candidates each canary secret is ranked among (default {SimulationDefaults.CanaryCandidates})." };
        var wirePrecision = new Option<string?>("--wire-precision") { Description = "How adapters travel between the hospitals and the orchestrator, both ways: fp32, fp16 or int8 (default: the config's train.wire_precision, else fp32)." };
        var auditBootstrap = new Option<int?>("--audit-bootstrap") { Description = $"Bootstrap resamples for the audit's confidence intervals (default {SimulationDefaults.AuditBootstrap})." };
        var command = new Command("simulate",
            "Run a whole federation locally: split the data into hospitals, start Azurite, the orchestrator and one agent per hospital, " +
            "train for R rounds, and write a report (metrics.csv, rounds.json, plots, report.md, the final adapter and merged model).");
        shared.AddTo(command);
        command.Add(compare);
        command.Add(noCompare);
        command.Add(noAudit);
        command.Add(dp);
        command.Add(retrainBaselines);
        command.Add(resume);
        command.Add(fresh);
        command.Add(deadline);
        command.Add(outageLimit);
        command.Add(audit);
        command.Add(canaries);
        command.Add(canaryCandidates);
        command.Add(auditBootstrap);
        command.Add(wirePrecision);
        command.SetAction(async (parse, commandToken) =>
        {
            SimulationOptions options;
            try
            {
                options = SimulationOptionsBinder.Bind(shared.Read(parse) with
                {
                    Compare = parse.GetValue(compare),
                    NoCompare = parse.GetValue(noCompare),
                    NoAudit = parse.GetValue(noAudit),
                    Dp = parse.GetValue(dp),
                    RetrainBaselines = parse.GetValue(retrainBaselines),
                    Resume = parse.GetValue(resume),
                    Fresh = parse.GetValue(fresh),
                    RoundDeadline = parse.GetValue(deadline),
                    StorageOutageLimit = parse.GetValue(outageLimit),
                    Audit = parse.GetValue(audit),
                    Canaries = parse.GetValue(canaries),
                    CanaryCandidates = parse.GetValue(canaryCandidates),
                    AuditBootstrap = parse.GetValue(auditBootstrap),
                    WirePrecision = ParseWirePrecision(parse.GetValue(wirePrecision)),
                });
            }
            catch (Exception e) when (e is ArgumentException or ConfigException)
            {
                await Console.Error.WriteLineAsync("fedtune simulate: " + e.Message).ConfigureAwait(false);
                return 2;
            }
            return await RunAsync(options, commandToken).ConfigureAwait(false);
        });
        return command;
    }

    /// <summary>--wire-precision's value (null when not given); anything but fp32, fp16 or int8 is an error naming the fix.</summary>
    internal static FedTune.Core.Compression.WirePrecision? ParseWirePrecision(string? text) =>
        text is null ? null
        : FedTune.Core.Compression.WirePrecisions.TryParse(text, out var precision) ? precision
        : throw new ArgumentException($"--wire-precision: '{text}' is not a wire precision. Fix: give fp32, fp16 or int8.");

    /// <summary>Runs the simulation with the live display; 0 only when the run completed.</summary>
    public static async Task<int> RunAsync(SimulationOptions options, CancellationToken commandToken)
    {
        using var signals = new ShutdownSignals(commandToken);
        var status = new SimulationStatus();
        RunReport report;
        var display = ProgressDisplay.Start(status);
        try
        {
            var runner = new SimulationRunner(options, status, line => status.Say(line));
            report = await runner.RunAsync(signals.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or ArgumentException or ConfigException or InvalidDataException)
        {
            await display.DisposeAsync().ConfigureAwait(false);
            await Console.Error.WriteLineAsync("fedtune simulate: " + e.Message).ConfigureAwait(false);
            return 1;
        }
        catch (Exception e) when (StorageFailure.IsOutage(e))
        {
            await display.DisposeAsync().ConfigureAwait(false);
            await Console.Error.WriteLineAsync($"fedtune simulate: storage is unreachable ({StorageFailure.Describe(e)}){CliErrorLog.Write("simulate", e)}. " +
                "Fix: check --storage / FEDTUNE_STORAGE, then run the same command again (it resumes).").ConfigureAwait(false);
            return 1;
        }
        await display.DisposeAsync().ConfigureAwait(false);
        var folder = SimulationRunner.RunDirectory(options);
        Console.WriteLine(Summary(report, folder));
        if (report.Outcome == RunOutcome.Completed && report.AuditFailure is { } auditFailure)
        {
            await Console.Error.WriteLineAsync(
                $"fedtune simulate: the federation completed, but the privacy audit failed: {auditFailure} " +
                $"Fix the cause, then run: fedtune privacy-audit --run {folder}").ConfigureAwait(false);
        }
        else if (report.Outcome != RunOutcome.Completed)
        {
            await Console.Error.WriteLineAsync($"fedtune simulate: the run did not complete ({report.Outcome.ToString().ToLowerInvariant()}): {report.FailureMessage}")
                .ConfigureAwait(false);
        }
        return ExitCode(report);
    }

    /// <summary>0 only when the run completed and everything asked for (the audit too) succeeded; 130 when stopped by the user; 1 otherwise.</summary>
    internal static int ExitCode(RunReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        return report.Outcome switch
        {
            RunOutcome.Completed => report.AuditFailure is null ? 0 : 1,
            RunOutcome.Cancelled => 130,
            _ => 1,
        };
    }

    internal static string Summary(RunReport report, string folder)
    {
        var lines = new List<string>
        {
            FormattableString.Invariant($"Run {report.RunId}: {report.Outcome.ToString().ToLowerInvariant()} in {ReportMarkdownWriter.FormatDuration(report.ElapsedSeconds)}"),
        };
        if (report.BaseEval is { } b) lines.Add(FormattableString.Invariant($"  base model held-out perplexity      {b.Perplexity,10:F2} (NLL {b.MeanNll:F4})"));
        if (report.FinalGlobalEval is { } f) lines.Add(FormattableString.Invariant($"  federated model held-out perplexity {f.Perplexity,10:F2} (NLL {f.MeanNll:F4})"));
        foreach (var c in report.Baselines.Where(c => c.Points.Count > 0))
        {
            lines.Add(FormattableString.Invariant($"  {c.Label + " held-out perplexity",-36}{c.Points[^1].Eval.Perplexity,10:F2} (NLL {c.Points[^1].Eval.MeanNll:F4})"));
        }
        lines.Add("  report: " + Path.Combine(folder, ReportFolder.ReportFile));
        return string.Join(Environment.NewLine, lines);
    }
}
