using System.Globalization;
using System.Text;
using FedTune.Core.Privacy;

namespace FedTune.Training.Privacy;

/// <summary>
/// The audit as Markdown: the headline table (attack × model), canary exposures, and how to read them. Used for
/// <c>privacy-audit.md</c> and as the privacy section of a simulation's report.md.
/// </summary>
public static class PrivacyAuditMarkdown
{
    public static string Render(PrivacyAuditResult result, int headingLevel = 2)
    {
        ArgumentNullException.ThrowIfNull(result);
        var h = new string('#', headingLevel);
        var md = new StringBuilder();
        var c = CultureInfo.InvariantCulture;
        md.AppendLine(c, $"{h} Privacy audit (membership inference)").AppendLine();
        md.AppendLine(c, $"{result.MemberCount} member records (trained on) against {result.NonMemberCount} non-member records " +
            $"(held out from the same distribution); {result.DroppedRecords} dropped. Confidence intervals: " +
            $"{result.Bootstrap.ConfidenceLevel * 100:0.#}% percentile bootstrap, {result.Bootstrap.Resamples} resamples.").AppendLine();
        md.AppendLine("| Model | Arm | ε | Attack | AUROC [CI] | TPR@1%FPR | TPR@0.1%FPR | FPR@95%TPR | Balanced acc. |");
        md.AppendLine("|---|---|---|---|---|---|---|---|---|");
        foreach (var model in result.Models)
        {
            foreach (var attack in model.Attacks.Where(a => a.Headline))
            {
                var m = attack.Metrics;
                md.AppendLine(c, $"| {model.Model.Label} | {model.Model.Arm} | {Epsilon(model.Model.Epsilon)} | {attack.Name} | {m.Auroc} | " +
                    $"{Rate(m.TprAt1PercentFpr.Value)} | {Rate(m.TprAt01PercentFpr.Value)}{(m.TprAt01PercentFprResolvable ? "" : "*")} | " +
                    $"{Rate(m.FprAt95PercentTpr.Value)} | {m.BalancedAccuracy.Value:0.000} |");
            }
        }

        md.AppendLine();
        if (result.Models.Any(m => !m.Attacks[0].Metrics.TprAt01PercentFprResolvable))
        {
            md.AppendLine("\\* fewer than 1,000 non-members: the 0.1% FPR figure is the TPR at FPR = 0.").AppendLine();
        }

        var canaries = result.Models.Where(m => m.Canaries.Count > 0).ToList();
        if (canaries.Count > 0)
        {
            md.AppendLine(c, $"{h}# Canary exposure").AppendLine();
            md.AppendLine("| Model | Patient | Rank | Candidates | Exposure (bits) | Max (bits) |");
            md.AppendLine("|---|---|---|---|---|---|");
            foreach (var model in canaries)
            {
                foreach (var canary in model.Canaries)
                {
                    md.AppendLine(c, $"| {model.Model.Label} | {canary.PatientName} | {canary.Rank:0.#} | {canary.Candidates} | {canary.Exposure:0.00} | {canary.MaxExposure:0.00} |");
                }
            }

            md.AppendLine();
        }

        md.AppendLine("How to read this: AUROC 0.5 means the attacker cannot tell members from non-members better than a coin; " +
            "TPR at a low FPR is the fraction of training records an attacker identifies confidently while wrongly accusing " +
            "only 1% (0.1%) of outsiders, the figure that matters for individual privacy. TPR@FPR is read conservatively off the " +
            "empirical curve (no interpolation). The base model never saw hospital data, so its row is a control (about 0.5). " +
            "Canary exposure near log2(candidates) means the model would reveal the planted secret; about 1 bit means it learned nothing about it.");
        return md.ToString();
    }

    public static string Epsilon(double? epsilon) =>
        epsilon is { } e ? (double.IsPositiveInfinity(e) ? "∞" : e.ToString("0.##", CultureInfo.InvariantCulture)) : "–";

    private static string Rate(double value) => value.ToString("0.0%", CultureInfo.InvariantCulture);
}
