using System.Globalization;
using System.Text;
using FedTune.Training.Privacy;

namespace FedTune.Cli.Reporting;

/// <summary>
/// report.md's section for the DP arm (<c>fedtune simulate --dp</c>): what DP it ran with, its rounds beside the plain
/// federation's same rounds, the ε spent, and what the privacy cost in held-out perplexity.
/// </summary>
public static class PrivateFederationMarkdown
{
    public const string Title = "Federated with differential privacy";

    public static void Append(StringBuilder md, RunReport report)
    {
        ArgumentNullException.ThrowIfNull(md);
        ArgumentNullException.ThrowIfNull(report);
        if (report.PrivateFederation is not { } dp) return;
        md.AppendLine("## " + Title);
        md.AppendLine();
        md.AppendLine(Inv($"The same hospitals, data, recipe, rounds and seed as the federation above (run `{dp.RunId}`), with {dp.Privacy}."));
        md.AppendLine();
        bool record = dp.Rounds.Any(r => r.RecordEpsilon is not null);
        bool hospital = dp.Rounds.Any(r => r.DpEpsilon is not null);
        md.AppendLine("| round | perplexity with DP | without DP | uploaded | rejected |" + (record ? " ε per record so far |" : "") + (hospital ? " ε per hospital so far |" : "") + " duration |");
        md.AppendLine("| ---: | ---: | ---: | ---: | ---: |" + (record ? " ---: |" : "") + (hospital ? " ---: |" : "") + " ---: |");
        foreach (var r in dp.Rounds)
        {
            var plain = report.Rounds.FirstOrDefault(x => x.Round == r.Round)?.GlobalEval;
            md.AppendLine(Inv($"| {r.Round} | {Fmt(r.GlobalEval?.Perplexity)} | {Fmt(plain?.Perplexity)} | {r.Hospitals.Count(h => h.State == HospitalRoundState.Uploaded)} | ") +
                Inv($"{r.Hospitals.Count(h => h.State == HospitalRoundState.Rejected)} |") +
                (record ? $" {PrivacyAuditMarkdown.Epsilon(r.RecordEpsilon)} |" : "") + (hospital ? $" {PrivacyAuditMarkdown.Epsilon(r.DpEpsilon)} |" : "") +
                $" {ReportMarkdownWriter.FormatDuration(r.DurationSeconds)} |");
        }
        md.AppendLine();
        if (Verdict(report) is { } verdict)
        {
            md.AppendLine(verdict);
            md.AppendLine();
        }
        if (record && NoiseSentence(dp) is { } noise)
        {
            md.AppendLine(noise);
            md.AppendLine();
        }
        if (record)
        {
            md.AppendLine("ε per record: the largest ε any hospital reports having spent on its own patients' records (DP-SGD: each step a Poisson sample of its " +
                "records, each record's gradient clipped, Gaussian noise added; RDP accountant over every step of every round so far, at the δ shown). " +
                "It bounds what anyone holding the model can learn about whether one record was in the training data: the privacy audit below measures the same thing.");
            md.AppendLine();
        }
        if (hospital)
        {
            md.AppendLine("ε per hospital: DP-FedAvg at the orchestrator protects each hospital's whole contribution; with a handful of hospitals the noise it needs " +
                "for a small ε swamps the signal (it is meant for thousands of clients).");
            md.AppendLine();
        }
    }

    /// <summary>The privacy's cost in one sentence: the DP model against the base and the plain federated model, at its ε.</summary>
    public static string? Verdict(RunReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        if (report.PrivateFederation is not { FinalEval: { } withDp } dp) return null;
        var parts = new List<string> { Inv($"With differential privacy (ε {PrivacyAuditMarkdown.Epsilon(dp.FinalEpsilon)}) the federated model's held-out perplexity is {withDp.Perplexity:F2}") };
        if (report.BaseEval is { } b) parts.Add(Inv($"{Percent(withDp.Perplexity, b.Perplexity)} against the base model"));
        if (report.FinalGlobalEval is { } plain) parts.Add(Inv($"{Percent(withDp.Perplexity, plain.Perplexity)} against the same federation without DP ({plain.Perplexity:F2})"));
        return string.Join(", ", parts) + ".";
    }

    /// <summary>
    /// Why DP costs what it costs: each DP-SGD step's noise norm (z·C·√d over the expected batch B) against the at most C
    /// of signal in the average of clipped record gradients, from the recipe the hospitals ran and the trained parameters.
    /// </summary>
    public static string? NoiseSentence(PrivateFederationReport dp)
    {
        ArgumentNullException.ThrowIfNull(dp);
        var ran = dp.Rounds.SelectMany(r => r.Hospitals).Select(h => h.Ran).LastOrDefault(r => r?.RecordPrivacy is not null);
        if (ran?.RecordPrivacy is not { } privacy || dp.TrainedParameters is not { } d || d <= 0) return null;
        int batch = Math.Max(1, ran.BatchSize * ran.GradientAccumulationSteps);
        double ratio = privacy.NoiseMultiplier * Math.Sqrt(d) / batch;
        return Inv($"Why DP costs what it does here: each DP-SGD step adds Gaussian noise of norm about z·C·√d / B = {privacy.NoiseMultiplier:G3} × C × √{d:N0} / {batch} ≈ {ratio:F1} × C ") +
            Inv($"to the average of the sampled records' clipped gradients, whose norm is at most C. At a useful ε the noise outweighs what one step can learn from {batch} records; ") +
            "it shrinks with larger batches of records per step (more records per hospital, a larger per_device_train_batch_size or gradient_accumulation_steps, at the same ε) and with fewer trained parameters (a smaller LoRA rank, fewer target modules, freeze_a).";
    }

    private static string Fmt(double? value) => value is { } v && double.IsFinite(v) ? v.ToString("F2", CultureInfo.InvariantCulture) : "–";

    private static string Percent(double value, double reference) => Inv($"{(value - reference) / reference * 100:+0.0;-0.0}%");

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
