using System.Globalization;
using FedTune.Core.Privacy;
using FedTune.Training.Privacy;
using Spectre.Console;

namespace FedTune.Cli.Reporting;

/// <summary>
/// The privacy audit as the terminal shows it: one compact table per audited model (its arm and ε in the title), the
/// headline attacks as rows, so that it stays readable in an 80-column terminal; the full table with every attack and
/// model is privacy-audit.md. Canary exposures follow, one line each.
/// </summary>
internal static class PrivacyAuditConsoleTable
{
    private static readonly string[] Columns = ["Attack", "AUROC (95% CI)", "TPR@1%", "TPR@.1%", "FPR@95%", "Bal.acc"];

    public static void Write(PrivacyAuditResult result, IAnsiConsole console)
    {
        console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Membership inference: {result.MemberCount} members vs {result.NonMemberCount} non-members (AUROC 0.5 = no leakage)."));
        foreach (var model in result.Models)
        {
            console.Write(ModelTable(model));
        }

        console.WriteLine("TPR@1% / TPR@.1%: true-positive rate at 1% / 0.1% false-positive rate;");
        console.WriteLine("FPR@95%: false-positive rate at 95% true-positive rate.");
        if (result.Models.Count > 0 && result.Models[0].Attacks.Count > 0 && !result.Models[0].Attacks[0].Metrics.TprAt01PercentFprResolvable)
        {
            console.WriteLine("* fewer than 1,000 non-members: the 0.1% FPR figure is the TPR at FPR = 0.");
        }

        foreach (var model in result.Models.Where(m => m.Canaries.Count > 0))
        {
            foreach (var canary in model.Canaries)
            {
                console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"canary {canary.PatientName} ({model.Model.Label}): rank {canary.Rank:0.#}/{canary.Candidates}, exposure {canary.Exposure:0.00} of {canary.MaxExposure:0.00} bits"));
            }
        }
    }

    internal static string Title(AuditModelSpec model)
    {
        var epsilon = model.Epsilon is null ? "" : $", ε = {PrivacyAuditMarkdown.Epsilon(model.Epsilon)}";
        bool armSaysNothingMore = model.Arm == TrainingArm.Other || string.Equals(model.Label, model.Arm.ToString(), StringComparison.OrdinalIgnoreCase);
        return armSaysNothingMore ? $"{model.Label}{epsilon}" : $"{model.Label} ({model.Arm}{epsilon})";
    }

    private static Table ModelTable(ModelAuditResult model)
    {
        var table = new Table().Border(TableBorder.Simple).Title(new TableTitle(Markup.Escape(Title(model.Model)), Style.Plain));
        foreach (var column in Columns)
        {
            table.AddColumn(new TableColumn(Markup.Escape(column)) { NoWrap = true });
        }

        foreach (var attack in model.Attacks.Where(a => a.Headline))
        {
            var m = attack.Metrics;
            string[] cells =
            [
                attack.Name,
                string.Create(CultureInfo.InvariantCulture, $"{m.Auroc.Value:0.000} ({m.Auroc.Lower:0.000}-{m.Auroc.Upper:0.000})"),
                Percent(m.TprAt1PercentFpr.Value),
                Percent(m.TprAt01PercentFpr.Value) + (m.TprAt01PercentFprResolvable ? "" : "*"),
                Percent(m.FprAt95PercentTpr.Value),
                m.BalancedAccuracy.Value.ToString("0.000", CultureInfo.InvariantCulture),
            ];
            table.AddRow(cells.Select(Markup.Escape).ToArray());
        }

        return table;
    }

    private static string Percent(double value) => value.ToString("0.0%", CultureInfo.InvariantCulture);
}
