using System.CommandLine;
using System.Globalization;
using FedTune.Cli.Reporting;
using FedTune.Core.Privacy;
using FedTune.Training.Data;
using FedTune.Training.Privacy;
using Spectre.Console;

namespace FedTune.Cli.Commands;

/// <summary>
/// `fedtune privacy-audit`: membership-inference attacks (loss, reference-calibrated loss, zlib, Min-K%, Min-K%++) and
/// canary exposure on a run's final models and checkpoints, or on explicit models and record files. Prints the table
/// and writes privacy-audit.json, privacy-audit.md and log-scale ROC PNGs. Runs entirely locally.
/// </summary>
internal static class PrivacyAuditCommand
{
    public static Command Create()
    {
        var run = new Option<string?>("--run") { Description = "A run folder written by `fedtune simulate` (reads privacy-audit-inputs.json, or discovers the data split and adapters)." };
        var hospital = new Option<string?>("--hospital") { Description = "Audit with only this hospital's own records (its train.jsonl as members, heldout.jsonl as non-members): nothing leaves the hospital." };
        var baseModel = new Option<string?>("--base") { Description = "The base model folder (Hugging Face layout) the adapters were trained on." };
        var adapters = new Option<string[]>("--adapter") { Description = "A model to audit: label=DIR[,arm=federated|centralized|local-only|federated-dp,epsilon=E,round=R]; DIR is a PEFT adapter or a merged model folder. Repeatable." };
        var members = new Option<string[]>("--members") { Description = "Records the models trained on (Alpaca JSON/JSONL/CSV). Repeatable." };
        var nonMembers = new Option<string[]>("--non-members") { Description = "Held-out records from the same distribution. Repeatable." };
        var canaries = new Option<string?>("--canaries") { Description = "The canaries.json of a run that planted canaries (exposure is reported)." };
        var output = new Option<string?>("--output") { Description = "Where to write the files (default: RUN/privacy, or ./privacy-audit)." };
        var maxRecords = new Option<int>("--max-records") { Description = "At most this many members and non-members are scored (seeded sample).", DefaultValueFactory = _ => 500 };
        var bootstrap = new Option<int>("--bootstrap") { Description = "Bootstrap resamples for the 95% confidence intervals.", DefaultValueFactory = _ => 1000 };
        var seqLength = new Option<int>("--seq-length") { Description = "Token limit per record (use the training seq_length).", DefaultValueFactory = _ => 256 };
        var batchSize = new Option<int>("--batch-size") { Description = "Records per forward pass.", DefaultValueFactory = _ => 8 };
        var candidates = new Option<int?>("--canary-candidates") { Description = "Candidates each canary is ranked among (default: the number stored with the canaries)." };
        var noBase = new Option<bool>("--no-base-row") { Description = "Do not report the base model itself (it is still the reference)." };
        var command = new Command("privacy-audit", "Membership-inference and canary audit of fine-tuned models: AUROC, TPR at 1% and 0.1% FPR, FPR at 95% TPR, balanced accuracy (bootstrap CIs), ROC plots.")
        {
            run, hospital, baseModel, adapters, members, nonMembers, canaries, output, maxRecords, bootstrap, seqLength, batchSize, candidates, noBase,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            try
            {
                var inputs = BuildInputs(
                    parse.GetValue(run), parse.GetValue(baseModel), parse.GetValue(adapters) ?? [], parse.GetValue(members) ?? [],
                    parse.GetValue(nonMembers) ?? [], parse.GetValue(canaries));
                if (parse.GetValue(hospital) is { } hospitalId)
                {
                    inputs = inputs.ForHospital(hospitalId);
                }

                var options = new PrivacyAuditOptions
                {
                    MaxRecordsPerSide = parse.GetValue(maxRecords),
                    Bootstrap = new BootstrapOptions { Resamples = parse.GetValue(bootstrap) },
                    Tokenization = new TokenizationOptions { SeqLength = parse.GetValue(seqLength) },
                    Scoring = new TokenScoringOptions { BatchSize = parse.GetValue(batchSize) },
                    CanaryCandidates = parse.GetValue(candidates),
                    IncludeBaseModel = !parse.GetValue(noBase),
                };
                var folder = parse.GetValue(output)
                    ?? (parse.GetValue(run) is { } r ? Path.Combine(r, parse.GetValue(hospital) is { } h ? $"privacy-{h}" : "privacy") : "privacy-audit");
                var progress = new Progress<string>(line => Console.Error.WriteLine(line));
                var (result, plots) = await PrivacyAuditReport.RunAsync(inputs, options, folder, progress, cancellationToken).ConfigureAwait(false);
                PrivacyAuditConsoleTable.Write(result, AnsiConsole.Console);
                Console.WriteLine($"Wrote {Path.Combine(folder, PrivacyAuditResult.JsonFileName)}, {PrivacyAuditResult.MarkdownFileName} and {plots.Count} plot(s) in {folder}.");
                return 0;
            }
            catch (Exception e) when (e is ArgumentException or InvalidDataException or FileNotFoundException or DirectoryNotFoundException or InvalidOperationException)
            {
                Console.Error.WriteLine($"privacy-audit: {e.Message}");
                return 2;
            }
        });
        return command;
    }

    /// <summary>Inputs from --run (discovered) overridden or completed by the explicit options.</summary>
    internal static AuditInputs BuildInputs(string? run, string? baseModel, string[] adapters, string[] members, string[] nonMembers, string? canaries)
    {
        var explicitModels = adapters.Select(ParseAdapter).ToList();
        if (run is not null)
        {
            var discovered = RunFolderAuditInputs.Discover(run, baseModel);
            return discovered with
            {
                Models = explicitModels.Count > 0 ? explicitModels : discovered.Models,
                MembersFiles = members.Length > 0 ? members : discovered.MembersFiles,
                NonMembersFiles = nonMembers.Length > 0 ? nonMembers : discovered.NonMembersFiles,
                CanaryFile = canaries ?? discovered.CanaryFile,
            };
        }

        if (baseModel is null || members.Length == 0 || nonMembers.Length == 0)
        {
            throw new ArgumentException(
                "Give a run folder (--run DIR), or the inputs explicitly: --base DIR, --members FILE, --non-members FILE and any number of --adapter label=DIR.");
        }

        return new AuditInputs(baseModel, explicitModels, members, nonMembers, canaries);
    }

    /// <summary>Parses label=DIR[,arm=...,epsilon=...,round=...].</summary>
    internal static AuditModelSpec ParseAdapter(string text)
    {
        var parts = text.Split(',');
        var head = parts[0].Split('=', 2);
        if (head.Length != 2 || head[0].Length == 0 || head[1].Length == 0)
        {
            throw new ArgumentException($"--adapter '{text}' must look like label=DIR[,arm=federated-dp,epsilon=3.2,round=5].");
        }

        var spec = new AuditModelSpec(head[0], head[1]);
        foreach (var part in parts.Skip(1))
        {
            var kv = part.Split('=', 2);
            var key = kv[0].Trim().ToLowerInvariant();
            var value = kv.Length == 2 ? kv[1].Trim() : "";
            spec = key switch
            {
                "arm" => spec with { Arm = ParseArm(value, text) },
                "epsilon" or "eps" => spec with { Epsilon = ParseNumber(value, text, "epsilon") },
                "round" => spec with { Round = (int)ParseNumber(value, text, "round") },
                _ => throw new ArgumentException($"--adapter '{text}': unknown setting '{kv[0]}' (use arm, epsilon or round)."),
            };
        }

        return spec;
    }

    private static TrainingArm ParseArm(string value, string text) => value.Replace("-", "", StringComparison.Ordinal).Replace("+", "", StringComparison.Ordinal).ToLowerInvariant() switch
    {
        "base" => TrainingArm.Base,
        "centralized" => TrainingArm.Centralized,
        "federated" => TrainingArm.Federated,
        "localonly" or "local" => TrainingArm.LocalOnly,
        "federateddp" or "dp" => TrainingArm.FederatedDp,
        "other" => TrainingArm.Other,
        _ => throw new ArgumentException($"--adapter '{text}': arm '{value}' is not one of federated, centralized, local-only, federated-dp, other."),
    };

    private static double ParseNumber(string value, string text, string name) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && !double.IsNaN(number)
            ? number
            : throw new ArgumentException($"--adapter '{text}': {name} '{value}' is not a number.");

}
