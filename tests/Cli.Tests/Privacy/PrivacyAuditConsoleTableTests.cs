using FedTune.Cli.Reporting;
using FedTune.Core.Privacy;
using FedTune.Training.Privacy;
using Spectre.Console;
using Xunit;

namespace FedTune.Cli.Tests.Privacy;

public sealed class PrivacyAuditConsoleTableTests
{
    private static readonly (string Name, MembershipAttack Attack, double? Fraction)[] HeadlineAttacks =
    [
        ("loss", MembershipAttack.Loss, null),
        ("ref-loss", MembershipAttack.ReferenceCalibratedLoss, null),
        ("zlib", MembershipAttack.Zlib, null),
        ("min-k 20%", MembershipAttack.MinK, 0.2),
        ("min-k++ 20%", MembershipAttack.MinKPlusPlus, 0.2),
    ];

    [Fact]
    public void Every_line_fits_an_80_column_terminal_and_each_model_gets_its_own_titled_table()
    {
        var text = Render(Result(
            Model(new AuditModelSpec(AuditModelSpec.BaseLabel, "", TrainingArm.Base)),
            Model(new AuditModelSpec("federated/checkpoints/round-12", "/runs/x", TrainingArm.Federated, Round: 12)),
            Model(new AuditModelSpec("federated-dp/adapter", "/runs/y", TrainingArm.FederatedDp, Epsilon: 7.25))));

        var lines = text.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        Assert.StartsWith("Membership inference: 500 members vs 220 non-members", lines[0], StringComparison.Ordinal);
        Assert.All(lines, line => Assert.True(line.Length <= 80, $"{line.Length} columns: '{line}'"));
        Assert.Contains(lines, l => l.Trim() == "base");
        Assert.Contains(lines, l => l.Trim() == "federated/checkpoints/round-12 (Federated)");
        Assert.Contains(lines, l => l.Contains("federated-dp/adapter (FederatedDp, ε = 7.25", StringComparison.Ordinal));
        Assert.Equal(3 * HeadlineAttacks.Length, lines.Count(l => l.Contains("0.612 (0.571-0.650)", StringComparison.Ordinal)));
        Assert.Contains(lines, l => l.Contains("min-k++ 20%", StringComparison.Ordinal) && l.Contains("3.4%", StringComparison.Ordinal)
                                    && l.Contains("0.2%*", StringComparison.Ordinal) && l.Contains("88.0%", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("* fewer than 1,000 non-members", StringComparison.Ordinal));
    }

    [Fact]
    public void Canary_exposures_follow_the_tables_one_line_each()
    {
        var model = Model(new AuditModelSpec("federated/adapter", "/runs/x", TrainingArm.Federated)) with
        {
            Canaries = [new CanaryExposureResult("Jane Roe", 1, 100, 6.64, 6.64, 0.5)],
        };
        var text = Render(Result(model));
        Assert.Contains("canary Jane Roe (federated/adapter): rank 1/100, exposure 6.64 of 6.64 bits", text, StringComparison.Ordinal);
    }

    private static string Render(PrivacyAuditResult result)
    {
        using var writer = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(writer),
        });
        console.Profile.Width = 80;
        PrivacyAuditConsoleTable.Write(result, console);
        return writer.ToString();
    }

    private static PrivacyAuditResult Result(params ModelAuditResult[] models) =>
        new(models, MemberCount: 500, NonMemberCount: 220, DroppedRecords: 0, new BootstrapOptions(), [], []);

    private static ModelAuditResult Model(AuditModelSpec spec)
    {
        var curve = RocCurve.Compute(new MembershipScores([0.9, 0.8, 0.3], [0.7, 0.2, 0.1]));
        var metrics = new AttackMetrics(
            new Estimate(0.612, 0.571, 0.650), new Estimate(0.034, 0.01, 0.05), new Estimate(0.002, 0, 0.01),
            new Estimate(0.88, 0.8, 0.93), new Estimate(0.571, 0.55, 0.6), MemberCount: 500, NonMemberCount: 220);
        var attacks = HeadlineAttacks.Select(a => new AttackResult(a.Name, a.Attack, a.Fraction, Headline: true, metrics, curve)).ToList();
        return new ModelAuditResult(spec, attacks, MemberMeanNll: 2.0, NonMemberMeanNll: 2.1, Canaries: []);
    }
}
