using System.Globalization;
using FedTune.Core.Privacy;
using FedTune.Training.Privacy;
using ScottPlot;

namespace FedTune.Cli.Reporting;

/// <summary>
/// Log-log ROC plots of the privacy audit (ScottPlot): one per headline attack comparing the final model of every arm
/// (base, centralized, federated, local-only, federated + DP with its ε in the legend), and one for the loss attack
/// over every checkpoint. Low false-positive rates are what matter for membership inference, hence log axes
/// (Carlini et al. 2022); rates of zero are drawn at half the smallest resolvable rate.
/// </summary>
public static partial class PrivacyRocPlotter
{
    public const string CheckpointsFile = "privacy-roc-checkpoints.png";
    private const int Width = 900;
    private const int Height = 700;

    /// <summary>Writes the plots into <paramref name="directory"/> and returns the file names written.</summary>
    public static IReadOnlyList<string> WriteAll(PrivacyAuditResult result, string directory)
    {
        ArgumentNullException.ThrowIfNull(result);
        Directory.CreateDirectory(directory);
        var written = new List<string>();
        var finals = result.Models.Where(m => m.Model.Round is null).ToList();
        if (finals.Count == 0)
        {
            finals = result.Models.ToList();
        }

        foreach (var attackName in result.Models.SelectMany(m => m.Attacks).Where(a => a.Headline).Select(a => a.Name).Distinct())
        {
            var file = FileFor(attackName);
            Write(finals, attackName, $"Membership inference ROC, {attackName} attack", result.NonMemberCount, result.MemberCount, Path.Combine(directory, file));
            written.Add(file);
        }

        if (result.Models.Any(m => m.Model.Round is not null))
        {
            Write(result.Models, "loss", "Loss-attack ROC for every checkpoint", result.NonMemberCount, result.MemberCount, Path.Combine(directory, CheckpointsFile));
            written.Add(CheckpointsFile);
        }

        return written;
    }

    /// <summary>File name of an attack's plot, e.g. <c>privacy-roc-min-k-20.png</c>.</summary>
    public static string FileFor(string attackName)
    {
        ArgumentNullException.ThrowIfNull(attackName);
        var slug = NonAlphanumeric().Replace(attackName.Replace("++", " pp", StringComparison.Ordinal).ToLowerInvariant(), "-").Trim('-');
        return $"privacy-roc-{slug}.png";
    }

    private static void Write(IReadOnlyList<ModelAuditResult> models, string attackName, string title, int nonMembers, int members, string path)
    {
        var plot = new Plot();
        var xFloor = 0.5 / nonMembers;
        var yFloor = 0.5 / members;
        var xMin = Math.Floor(Math.Log10(xFloor));
        var yMin = Math.Floor(Math.Log10(yFloor));
        var chance = plot.Add.Line(xMin, xMin, 0, 0);
        chance.LineColor = Colors.Gray;
        chance.LinePattern = LinePattern.Dotted;
        chance.LegendText = "chance (AUROC 0.5)";
        foreach (var model in models)
        {
            var attack = model.Attacks.FirstOrDefault(a => a.Name == attackName);
            if (attack is null)
            {
                continue;
            }

            var xs = attack.Curve.Points.Select(p => Math.Log10(Math.Max(p.FalsePositiveRate, xFloor))).ToArray();
            var ys = attack.Curve.Points.Select(p => Math.Log10(Math.Max(p.TruePositiveRate, yFloor))).ToArray();
            var line = plot.Add.Scatter(xs, ys);
            line.MarkerSize = 0;
            line.LineWidth = model.Model.Round is null ? 2.5f : 1.5f;
            if (model.Model.Arm == TrainingArm.Base)
            {
                line.LinePattern = LinePattern.Dashed;
            }

            line.LegendText = Legend(model, attack);
        }

        plot.Axes.Bottom.SetTicks(Decades(xMin), Labels(xMin));
        plot.Axes.Left.SetTicks(Decades(yMin), Labels(yMin));
        plot.Axes.SetLimits(xMin, 0, yMin, 0.05);
        plot.Title(title);
        plot.XLabel("false positive rate (non-members flagged), log scale");
        plot.YLabel("true positive rate (members found), log scale");
        plot.ShowLegend(Alignment.LowerRight);
        plot.SavePng(path, Width, Height);
    }

    /// <summary>Legend text: label, arm, ε for DP runs, AUROC and TPR at 1% FPR.</summary>
    public static string Legend(ModelAuditResult model, AttackResult attack)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(attack);
        var c = CultureInfo.InvariantCulture;
        var epsilon = model.Model.Epsilon is not null ? $", ε = {PrivacyAuditMarkdown.Epsilon(model.Model.Epsilon)}" : "";
        return string.Create(c, $"{model.Model.Label} [{model.Model.Arm}{epsilon}]: AUROC {attack.Metrics.Auroc.Value:0.000}, TPR@1%FPR {attack.Metrics.TprAt1PercentFpr.Value:0.0%}");
    }

    private static double[] Decades(double min) => Enumerable.Range(0, (int)-min + 1).Select(i => min + i).ToArray();

    private static string[] Labels(double min) =>
        Decades(min).Select(d => Math.Pow(10, d).ToString(d >= -2 ? "0.##" : "0.#####", CultureInfo.InvariantCulture)).ToArray();

    [System.Text.RegularExpressions.GeneratedRegex("[^a-z0-9]+")]
    private static partial System.Text.RegularExpressions.Regex NonAlphanumeric();
}
