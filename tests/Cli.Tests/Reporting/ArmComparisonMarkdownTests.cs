using System.Text;
using FedTune.Cli.Reporting;
using Xunit;

namespace FedTune.Cli.Tests.Reporting;

/// <summary>report.md opens with every arm on the same held-out records, per specialty, and a verdict computed from them.</summary>
public sealed class ArmComparisonMarkdownTests
{
    private static ArmScore Score(string arm, string label, double all, double oncology, double cardio) => new(arm, label, EvalMetrics.FromNll(200, Math.Log(all)),
    [
        new SpecialtyEval("oncology", ["hospital-1"], EvalMetrics.FromNll(100, Math.Log(oncology))),
        new SpecialtyEval("cardiovascular", ["hospital-2"], EvalMetrics.FromNll(100, Math.Log(cardio))),
    ]);

    private static RunReport Report(double federated) => SampleReports.TwoHospitalsThreeRounds() with
    {
        ArmScores =
        [
            Score("base", "base model", 300, 310, 290),
            Score("federated", "federated", federated, 240, 230),
            Score("local-only", "local-only hospital-1", 260, 220, 300),
            Score("local-only", "local-only hospital-2", 270, 320, 215),
            Score("centralized", "centralized", 220, 225, 215),
        ],
        Answers = [new QuestionAnswers("oncology", "What is a sarcoma?", "A cancer of connective tissue.", [new ModelAnswer("federated", "A tumor | of bone.")])],
    };

    [Fact]
    public void The_table_scores_each_local_only_model_on_its_own_specialty_and_on_the_others()
    {
        var md = new StringBuilder();
        ArmComparisonMarkdown.Append(md, Report(235));
        var text = md.ToString();

        Assert.Contains("| model | all held-out | vs base | oncology (hospital-1) | cardiovascular (hospital-2) |", text, StringComparison.Ordinal);
        Assert.Contains("| local-only hospital-1 | 260.00 | -13.3% | 220.00 ★ | 300.00 |", text, StringComparison.Ordinal);
        Assert.Contains("| local-only hospital-2 | 270.00 | -10.0% | 320.00 | 215.00 ★ |", text, StringComparison.Ordinal);
        Assert.Contains("| federated | A tumor \\| of bone. |", text, StringComparison.Ordinal);
    }

    [Fact]
    public void The_verdict_says_whether_the_federation_beats_every_hospital_alone_and_its_gap_to_pooling()
    {
        var wins = ArmComparisonMarkdown.Verdict(Report(235))!;
        Assert.Contains("235.00, -21.7% against the base model's 300.00", wins, StringComparison.Ordinal);
        Assert.Contains("below every hospital training alone (best: local-only hospital-1, 260.00; federated is -9.6%)", wins, StringComparison.Ordinal);
        Assert.Contains("reaches 220.00, a gap of +6.8% for the federation", wins, StringComparison.Ordinal);

        var loses = ArmComparisonMarkdown.Verdict(Report(265))!;
        Assert.Contains("not below every hospital training alone (local-only hospital-1 reaches 260.00)", loses, StringComparison.Ordinal);
    }
}
