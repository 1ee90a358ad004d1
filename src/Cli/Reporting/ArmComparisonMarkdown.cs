using System.Globalization;
using System.Text;

namespace FedTune.Cli.Reporting;

/// <summary>
/// report.md's first section: federated against each hospital alone and against pooling the data, on the same held-out
/// records, overall and per specialty (so each local-only model is also scored on the other hospitals' specialties),
/// a one-line verdict computed from those numbers, and the same held-out questions answered by each model.
/// </summary>
public static class ArmComparisonMarkdown
{
    public static void Append(StringBuilder md, RunReport report)
    {
        ArgumentNullException.ThrowIfNull(md);
        ArgumentNullException.ThrowIfNull(report);
        if (report.ArmScores.Count < 2) return;
        var baseScore = report.ArmScores.FirstOrDefault(a => a.Arm == "base");
        var specialties = report.ArmScores[0].BySpecialty;
        md.AppendLine("## Why federate: every arm on the same held-out records");
        md.AppendLine();
        md.AppendLine("Held-out perplexity (lower is better) of each arm's final model, on the whole evaluation split and on each specialty's part of it. " +
                      "A hospital's local-only model is scored on its own specialty and on the others' (★ marks the specialty a model's hospital holds).");
        md.AppendLine();
        md.Append("| model | all held-out | vs base |");
        foreach (var s in specialties) md.Append(Inv($" {s.Specialty}{(s.HeldBy.Count > 0 ? " (" + string.Join(", ", s.HeldBy) + ")" : "")} |"));
        md.AppendLine();
        md.Append("| --- | ---: | ---: |");
        foreach (var _ in specialties) md.Append(" ---: |");
        md.AppendLine();
        foreach (var arm in report.ArmScores)
        {
            var vs = baseScore is null || arm == baseScore ? "" : Percent(arm.All.Perplexity, baseScore.All.Perplexity);
            md.Append(Inv($"| {arm.Label} | {arm.All.Perplexity:F2} | {vs} |"));
            foreach (var s in arm.BySpecialty)
            {
                bool own = arm.Arm == "local-only" && s.HeldBy.Any(h => arm.Label.EndsWith(" " + h, StringComparison.Ordinal));
                md.Append(Inv($" {s.Eval.Perplexity:F2}{(own ? " ★" : "")} |"));
            }
            md.AppendLine();
        }
        md.AppendLine();
        if (Verdict(report) is { } verdict)
        {
            md.AppendLine(verdict);
            md.AppendLine();
        }
        AppendAnswers(md, report);
    }

    /// <summary>What the table says, computed from it: federated against the base, the best local-only model and centralized.</summary>
    public static string? Verdict(RunReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var fed = report.ArmScores.FirstOrDefault(a => a.Arm == "federated");
        var b = report.ArmScores.FirstOrDefault(a => a.Arm == "base");
        if (fed is null || b is null) return null;
        var parts = new List<string> { Inv($"The federated model's held-out perplexity is {fed.All.Perplexity:F2}, {Percent(fed.All.Perplexity, b.All.Perplexity)} against the base model's {b.All.Perplexity:F2}") };
        var locals = report.ArmScores.Where(a => a.Arm == "local-only").ToList();
        if (locals.Count > 0)
        {
            var best = locals.MinBy(a => a.All.Perplexity)!;
            parts.Add(fed.All.Perplexity < best.All.Perplexity
                ? Inv($"below every hospital training alone (best: {best.Label}, {best.All.Perplexity:F2}; federated is {Percent(fed.All.Perplexity, best.All.Perplexity)})")
                : Inv($"not below every hospital training alone ({best.Label} reaches {best.All.Perplexity:F2})"));
        }
        if (report.ArmScores.FirstOrDefault(a => a.Arm == "centralized") is { } c)
        {
            parts.Add(Inv($"pooling all the data (centralized, not allowed for real hospitals) reaches {c.All.Perplexity:F2}, a gap of {Percent(fed.All.Perplexity, c.All.Perplexity)} for the federation"));
        }
        return string.Join("; ", parts) + "." + (PrivateFederationMarkdown.Verdict(report) is { } dp ? " " + dp : "");
    }

    private static void AppendAnswers(StringBuilder md, RunReport report)
    {
        if (report.Answers.Count == 0) return;
        md.AppendLine("### The same held-out questions, answered by each model");
        md.AppendLine();
        md.AppendLine("Greedy decoding that never repeats a 3-token sequence (Hugging Face's no_repeat_ngram_size 3; without it these small models loop on one phrase), at most 40 new tokens; the questions are from the held-out split (no model trained on them).");
        md.AppendLine();
        foreach (var q in report.Answers)
        {
            md.AppendLine(Inv($"**{Escape(q.Question)}** ({q.Specialty})"));
            md.AppendLine();
            md.AppendLine("| model | answer |");
            md.AppendLine("| --- | --- |");
            md.AppendLine(Inv($"| reference (held out) | {Escape(q.Reference)} |"));
            foreach (var a in q.Answers) md.AppendLine(Inv($"| {a.Label} | {Escape(a.Answer)} |"));
            md.AppendLine();
        }
    }

    private static string Escape(string text) => text.Replace("|", "\\|", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal);

    private static string Percent(double value, double reference) => Inv($"{(value - reference) / reference * 100:+0.0;-0.0}%");

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
