using System.Globalization;
using System.Text;
using FedTune.Training.Privacy;

namespace FedTune.Cli.Reporting;

/// <summary>report.md: the run in one page (outcome, headline figures, settings, per-round table, plots, artifacts).</summary>
public static class ReportMarkdownWriter
{
    public static string ToMarkdown(RunReport report, IReadOnlyCollection<string> plotFiles)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(plotFiles);
        var md = new StringBuilder();
        md.AppendLine(Inv($"# FedTune simulation `{report.RunId}`"));
        md.AppendLine();
        md.AppendLine(Inv($"- Outcome: **{report.Outcome.ToString().ToLowerInvariant()}**{(report.FailureMessage is { } f ? " — " + f : "")}"));
        md.AppendLine(Inv($"- Started {report.StartedUtc:yyyy-MM-dd HH:mm:ss} UTC, ran {FormatDuration(report.ElapsedSeconds)}"));
        md.AppendLine(Inv($"- Base model: {report.BaseModel.Name} ({(report.BaseModel.Source == "embedded" ? "the embedded default base model" : "from the configuration")}, `{report.BaseModel.Path}`)"));
        md.AppendLine();

        ArmComparisonMarkdown.Append(md, report);

        md.AppendLine("## Held-out perplexity");
        md.AppendLine();
        md.AppendLine("Every arm is scored on the same held-out evaluation split, which no hospital trains on.");
        md.AppendLine();
        md.AppendLine("| model | mean NLL (nats/token) | perplexity | vs base |");
        md.AppendLine("| --- | ---: | ---: | ---: |");
        var baseEval = report.BaseEval;
        if (baseEval is not null) md.AppendLine(EvalRow("base model (no adapter)", baseEval, null));
        if (report.FinalGlobalEval is { } fed) md.AppendLine(EvalRow(Inv($"federated (after round {report.Rounds.Last(r => r.GlobalEval is not null).Round})"), fed, baseEval));
        if (report.PrivateFederation is { FinalEval: { } withDp } privateRun)
        {
            md.AppendLine(EvalRow(Inv($"federated + DP (ε {PrivacyAuditMarkdown.Epsilon(privateRun.FinalEpsilon)}, after round {privateRun.Rounds.Last(r => r.GlobalEval is not null).Round})"), withDp, baseEval));
        }
        foreach (var curve in report.Baselines.Where(c => c.Points.Count > 0))
        {
            md.AppendLine(EvalRow(curve.Label, curve.Points[^1].Eval, baseEval));
        }
        md.AppendLine();
        if (baseEval is not null && report.FinalGlobalEval is { } final)
        {
            double change = (final.Perplexity - baseEval.Perplexity) / baseEval.Perplexity * 100;
            md.AppendLine(Inv($"The federated model's held-out perplexity went from {baseEval.Perplexity:F2} to {final.Perplexity:F2} ({change:+0.0;-0.0}%)."));
            md.AppendLine();
        }
        foreach (var plot in plotFiles)
        {
            md.AppendLine(Inv($"![{Path.GetFileNameWithoutExtension(plot)}]({plot})"));
            md.AppendLine();
        }

        md.AppendLine("## Rounds");
        md.AppendLine();
        bool dp = report.Rounds.Any(r => r.DpEpsilon is not null);
        md.AppendLine("| round | global NLL | global perplexity | uploaded | stragglers | rejected | train examples | A/B averaging error | global moved (L2) | MiB up | MiB down | duration |" + (dp ? " ε so far |" : ""));
        md.AppendLine("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |" + (dp ? " ---: |" : ""));
        foreach (var r in report.Rounds)
        {
            string epsilonCell = dp ? $" {PrivacyAuditMarkdown.Epsilon(r.DpEpsilon)} |" : "";
            md.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {r.Round} | {Fmt(r.GlobalEval?.MeanNll)} | {Fmt(r.GlobalEval?.Perplexity)} | {Count(r, HospitalRoundState.Uploaded)} | " +
                $"{Count(r, HospitalRoundState.Straggler)} | {Count(r, HospitalRoundState.Rejected)} | {r.Hospitals.Sum(h => h.TrainExamples)} | " +
                $"{(r.LoraProductError is { } e ? e.ToString("G3", CultureInfo.InvariantCulture) : "")} | {Fmt(r.GlobalDeltaNorm)} | " +
                $"{r.Hospitals.Sum(h => h.BytesUp) / 1048576.0:F2} | {r.Hospitals.Sum(h => h.BytesDown) / 1048576.0:F2} | {FormatDuration(r.DurationSeconds)} |{epsilonCell}"));
        }
        md.AppendLine();
        if (report.Settings.WirePrecision is { } wire && report.Rounds.Count > 0)
        {
            md.AppendLine(WireSentence(wire, report.Rounds));
            md.AppendLine();
        }
        md.AppendLine("A/B averaging error: how far averaging LoRA's A and B factors separately is from averaging the products B·A " +
            "(relative Frobenius error, measured by the orchestrator each round); it is zero when freeze_a keeps A shared, so B is averaged exactly.");
        md.AppendLine();
        if (report.Rounds.Count > 0 && report.Rounds[^1] is { Weighting: { } weighting } lastRound)
        {
            md.AppendLine(Inv($"Aggregation weights: {weighting}. Sampling: {lastRound.Sampling}."));
            md.AppendLine();
        }
        if (dp && report.Rounds[^1].DpEpsilon is { } spent)
        {
            md.AppendLine(Inv($"Client-level differential privacy (DP-FedAvg): the final global model is ({PrivacyAuditMarkdown.Epsilon(spent)}, δ)-DP ") +
                "with respect to any one hospital's whole contribution, δ being federation.differential_privacy.delta.");
            md.AppendLine();
        }
        var secure = report.Rounds.Where(r => r.SecureAggregation is not null).ToList();
        if (secure.Count > 0)
        {
            md.AppendLine(Inv($"Secure aggregation (pairwise masking, Bonawitz et al. 2017) was on in {secure.Count} of {report.Rounds.Count} round(s): ") +
                "the orchestrator read only masked uploads and unmasked their sum, never one hospital's adapter.");
            md.AppendLine();
            foreach (var r in secure)
            {
                var facts = r.SecureAggregation!;
                md.AppendLine(Inv($"- round {r.Round}: threshold {facts.Threshold}, {facts.Neighbours} neighbours each, {facts.Survivors.Count} of {facts.Roster.Count} summed") +
                    (facts.Dropped.Count > 0 ? $", dropped after sharing: {string.Join(", ", facts.Dropped)}" : ""));
            }

            md.AppendLine();
        }

        var rejected = report.Rounds.SelectMany(r => r.Hospitals.Where(h => h.RejectionReason is not null).Select(h => (r.Round, h))).ToList();
        if (rejected.Count > 0)
        {
            md.AppendLine("Rejected updates:");
            md.AppendLine();
            foreach (var (round, h) in rejected) md.AppendLine(Inv($"- round {round}, {h.HospitalId}: {h.RejectionReason}"));
            md.AppendLine();
        }

        PrivateFederationMarkdown.Append(md, report);

        if (report.Rounds.Count > 0)
        {
            var last = report.Rounds[^1];
            md.AppendLine(Inv($"## Hospitals in round {last.Round}"));
            md.AppendLine();
            md.AppendLine("| hospital | state | train loss | local eval NLL | local eval perplexity | train examples | eval examples | train time |");
            md.AppendLine("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
            foreach (var h in last.Hospitals)
            {
                md.AppendLine(string.Create(CultureInfo.InvariantCulture, 
                    $"| {h.HospitalId} | {h.State.ToString().ToLowerInvariant()} | {Fmt(h.TrainLoss)} | {Fmt(h.EvalNll)} | {Fmt(h.EvalPerplexity)} | " +
                    $"{h.TrainExamples} | {h.EvalExamples} | {FormatDuration(h.TrainSeconds)} |"));
            }
            md.AppendLine();
        }

        if (report.Rounds.Count > 0)
        {
            md.AppendLine("## " + RecipeAsRunMarkdown.Title);
            md.AppendLine();
            md.AppendLine(RecipeAsRunMarkdown.ToMarkdown(report.Rounds).TrimEnd());
            md.AppendLine();
        }

        md.AppendLine("## Settings");
        md.AppendLine();
        var s = report.Settings;
        md.AppendLine("| setting | value |");
        md.AppendLine("| --- | --- |");
        md.AppendLine(Inv($"| hospitals | {s.Hospitals} |"));
        md.AppendLine(Inv($"| rounds | {s.Rounds} |"));
        md.AppendLine(Inv($"| optimizer steps per hospital per round (max_steps) | {s.MaxStepsPerRound} |"));
        md.AppendLine(Inv($"| batch size | {s.BatchSize} |"));
        md.AppendLine(Inv($"| learning rate | {s.LearningRate:G4} |"));
        md.AppendLine(Inv($"| seq_length | {s.SeqLength} |"));
        md.AppendLine(Inv($"| partitioning | {s.Partitioning} |"));
        md.AppendLine(Inv($"| strategy | {s.Strategy} |"));
        if (s.WirePrecision is not null) md.AppendLine(Inv($"| wire precision (adapters, both directions) | {s.WirePrecision} |"));
        md.AppendLine(Inv($"| held-out evaluation records | {(s.EvalExamples is { } evalCount ? evalCount.ToString(CultureInfo.InvariantCulture) : "none (no evaluator)")} |"));
        md.AppendLine(Inv($"| seed | {(s.Seed is { } seed ? seed.ToString(CultureInfo.InvariantCulture) : "not recorded")} |"));
        md.AppendLine(Inv($"| data | `{s.DataPath}` |"));
        if (s.ConfigPath is not null) md.AppendLine(Inv($"| configuration | `{s.ConfigPath}` |"));
        md.AppendLine();

        md.AppendLine("## Files");
        md.AppendLine();
        md.AppendLine("- [metrics.csv](metrics.csv): one row per round and hospital, plus the baselines' points");
        md.AppendLine("- [rounds.json](rounds.json): this whole report as data");
        if (report.Artifacts.AdapterDirectory is { } adapter) md.AppendLine(Inv($"- [{adapter}]({adapter}): the final global LoRA adapter (PEFT layout)"));
        if (report.PrivateFederation is not null) md.AppendLine("- [global-adapter-dp](global-adapter-dp): the DP arm's final global LoRA adapter (PEFT layout)");
        if (report.Artifacts.MergedModelDirectory is { } merged) md.AppendLine(Inv($"- [{merged}]({merged}): the base model with the adapter merged (Hugging Face layout)"));
        md.AppendLine();

        foreach (var section in report.ExtraSections)
        {
            md.AppendLine("## " + section.Title);
            md.AppendLine();
            md.AppendLine(section.Markdown.TrimEnd());
            md.AppendLine();
        }
        return md.ToString();
    }

    internal static string FormatDuration(double seconds)
    {
        if (!double.IsFinite(seconds) || seconds < 0) return "";
        var t = TimeSpan.FromSeconds(seconds);
        return t.TotalHours >= 1 ? Inv($"{(int)t.TotalHours}h{t.Minutes:D2}m")
            : t.TotalMinutes >= 1 ? Inv($"{(int)t.TotalMinutes}m{t.Seconds:D2}s")
            : Inv($"{seconds:F1}s");
    }

    private static string EvalRow(string name, EvalMetrics eval, EvalMetrics? baseline)
    {
        var vs = baseline is null ? "" : Inv($"{(eval.Perplexity - baseline.Perplexity) / baseline.Perplexity * 100:+0.0;-0.0}%");
        return Inv($"| {name} | {eval.MeanNll:F4} | {eval.Perplexity:F2} | {vs} |");
    }

    private static int Count(RoundReport round, HospitalRoundState state) => round.Hospitals.Count(h => h.State == state);

    /// <summary>The wire precision and what it moved: per round up and down, and per hospital transfer.</summary>
    private static string WireSentence(string wire, IReadOnlyList<RoundReport> rounds)
    {
        static double Mean(IEnumerable<double> values) => values.DefaultIfEmpty(0).Average();
        var transfers = rounds.SelectMany(r => r.Hospitals).ToList();
        bool masked = rounds.Any(r => r.SecureAggregation is not null);
        return Inv($"Wire precision {wire}: adapters travelled as {wire} both ways{(masked ? " (uploads as masked 64-bit ring elements: secure aggregation)" : "")}; ") +
            Inv($"per round {Mean(rounds.Select(r => (double)r.Hospitals.Sum(h => h.BytesUp))) / 1048576.0:F3} MiB up ") +
            Inv($"({Mean(transfers.Where(h => h.BytesUp > 0).Select(h => (double)h.BytesUp)) / 1024.0:F1} KiB per hospital upload) and ") +
            Inv($"{Mean(rounds.Select(r => (double)r.Hospitals.Sum(h => h.BytesDown))) / 1048576.0:F3} MiB down ") +
            Inv($"({Mean(transfers.Where(h => h.BytesDown > 0).Select(h => (double)h.BytesDown)) / 1024.0:F1} KiB per hospital download") +
            (wire == "fp32" ? "). " : "; round 1's download, the round-0 adapter, is fp32 whatever the precision). ") +
            "Compare the global perplexity per round with a run of another `--wire-precision` (same seed) to see what the compression costs.";
    }

    private static string Fmt(double? value) => value is { } v && double.IsFinite(v) ? v.ToString("F4", CultureInfo.InvariantCulture) : "–";

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
