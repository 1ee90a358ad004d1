using System.Globalization;
using FedTune.Cli.Reporting;
using Xunit;

namespace FedTune.Cli.Tests.Reporting;

public sealed class ReportWriterTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "fedtune-report-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void Metrics_csv_has_one_row_per_round_and_hospital_plus_baseline_points_with_invariant_numbers()
    {
        var report = SampleReports.TwoHospitalsThreeRounds();
        var lines = MetricsCsvWriter.ToCsv(report).TrimEnd('\n').Split('\n');

        Assert.Equal(MetricsCsvWriter.Header, lines[0]);
        Assert.Equal(1 + 3 * 2 + 3, lines.Length);
        var first = lines[1].Split(',');
        Assert.Equal("1", first[0]);
        Assert.Equal("federated", first[1]);
        Assert.Equal("hospital-1", first[2]);
        Assert.Equal("uploaded", first[3]);
        Assert.Equal(3.4, double.Parse(first[4], CultureInfo.InvariantCulture), 12);
        Assert.Equal((1 << 20).ToString(CultureInfo.InvariantCulture), first[9]);
        Assert.Equal(3.8, double.Parse(first[13], CultureInfo.InvariantCulture), 12);
        // A hospital id with a comma is quoted, a missing loss is an empty cell.
        Assert.Contains(lines, l => l.StartsWith("2,federated,\"hospital,2\",rejected,,", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("3,centralized,centralized,,", StringComparison.Ordinal));
    }

    [Fact]
    public void Rounds_json_round_trips_the_whole_report_with_snake_case_keys()
    {
        var report = SampleReports.TwoHospitalsThreeRounds();
        var json = RunReportJson.Serialize(report);
        Assert.Contains("\"max_steps_per_round\": 5", json, StringComparison.Ordinal);
        Assert.Contains("\"state\": \"rejected\"", json, StringComparison.Ordinal);

        var back = RunReportJson.Deserialize(json, "rounds.json");
        Assert.Equal(report.RunId, back.RunId);
        Assert.Equal(report.Settings, back.Settings);
        Assert.Equal(report.BaseEval, back.BaseEval);
        Assert.Equal([1, 2, 3], back.Rounds.Select(r => r.Round));
        Assert.Equal(report.Rounds[1].Hospitals[1], back.Rounds[1].Hospitals[1]);
        Assert.Equal(report.Baselines[0].Points, back.Baselines[0].Points);
    }

    [Fact]
    public void Reading_a_broken_rounds_json_names_the_file_and_the_fix()
    {
        var ex = Assert.Throws<InvalidDataException>(() => RunReportJson.Deserialize("{ \"run_id\": ", "/runs/x/rounds.json"));
        Assert.Contains("/runs/x/rounds.json", ex.Message, StringComparison.Ordinal);
        Assert.Contains("--fresh", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Markdown_report_states_base_and_federated_perplexity_links_plots_and_lists_rejections()
    {
        var report = SampleReports.TwoHospitalsThreeRounds();
        var md = ReportMarkdownWriter.ToMarkdown(report, [ReportPlotter.PerplexityFile]);

        Assert.Contains("Outcome: **completed**", md, StringComparison.Ordinal);
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"| base model (no adapter) | 4.0000 | {Math.Exp(4.0):F2} |"), md, StringComparison.Ordinal);
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"| federated (after round 3) | 3.4000 | {Math.Exp(3.4):F2} |"), md, StringComparison.Ordinal);
        Assert.Contains("![perplexity](perplexity.png)", md, StringComparison.Ordinal);
        Assert.Contains("round 2, hospital,2: update norm 9.1 exceeds 3 x median", md, StringComparison.Ordinal);
        Assert.Contains("[global-adapter](global-adapter)", md, StringComparison.Ordinal);
        Assert.Contains("| centralized | 3.3000 |", md, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(RunOutcome.Completed, null, 0)]
    [InlineData(RunOutcome.Completed, "privacy/ is a file", 1)]
    [InlineData(RunOutcome.Failed, null, 1)]
    [InlineData(RunOutcome.Cancelled, null, 130)]
    public void Simulate_exits_zero_only_when_the_run_and_everything_asked_for_completed(RunOutcome outcome, string? auditFailure, int exitCode)
    {
        var report = SampleReports.TwoHospitalsThreeRounds() with { Outcome = outcome, AuditFailure = auditFailure };
        Assert.Equal(exitCode, FedTune.Cli.Commands.SimulateCommand.ExitCode(report));
    }

    [Fact]
    public void The_wire_precision_is_a_setting_and_the_bytes_per_hospital_transfer_are_stated_under_the_rounds()
    {
        var sample = SampleReports.TwoHospitalsThreeRounds();
        Assert.DoesNotContain("Wire precision", ReportMarkdownWriter.ToMarkdown(sample, []), StringComparison.Ordinal);

        var report = sample with { Settings = sample.Settings with { WirePrecision = "int8" } };
        var markdown = ReportMarkdownWriter.ToMarkdown(report, []);
        Assert.Contains("| wire precision (adapters, both directions) | int8 |", markdown, StringComparison.Ordinal);
        Assert.Contains("Wire precision int8: adapters travelled as int8 both ways; per round 1.500 MiB up (768.0 KiB per hospital upload) " +
            "and 2.000 MiB down (1024.0 KiB per hospital download; round 1's download, the round-0 adapter, is fp32 whatever the precision).", markdown, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_dp_the_rounds_table_has_no_epsilon_column_and_the_csv_cell_is_empty()
    {
        var report = SampleReports.TwoHospitalsThreeRounds();
        Assert.DoesNotContain("ε", ReportMarkdownWriter.ToMarkdown(report, []), StringComparison.Ordinal);
        var first = MetricsCsvWriter.ToCsv(report).Split('\n')[1].Split(',');
        Assert.Equal("", first[^1]);
    }

    [Fact]
    public void Under_dp_every_round_reports_the_epsilon_spent_so_far_in_the_markdown_csv_and_json()
    {
        var plain = SampleReports.TwoHospitalsThreeRounds();
        double[] spent = [1.25, 2.5, double.PositiveInfinity];
        var report = plain with { Rounds = plain.Rounds.Select((r, i) => r with { DpEpsilon = spent[i] }).ToList() };

        var md = ReportMarkdownWriter.ToMarkdown(report, []);
        Assert.Contains("| duration | ε so far |", md, StringComparison.Ordinal);
        Assert.Contains(md.Split('\n'), l => l.StartsWith("| 1 |", StringComparison.Ordinal) && l.EndsWith(" 1.25 |", StringComparison.Ordinal));
        Assert.Contains(md.Split('\n'), l => l.StartsWith("| 3 |", StringComparison.Ordinal) && l.EndsWith(" ∞ |", StringComparison.Ordinal));
        Assert.Contains("the final global model is (∞, δ)-DP", md, StringComparison.Ordinal);

        var rows = MetricsCsvWriter.ToCsv(report).TrimEnd('\n').Split('\n').Skip(1).Select(l => l.Split(',')).ToList();
        Assert.Equal(["1.25", "1.25", "2.5", "2.5", "inf", "inf"], rows.Where(r => r[1] == "federated").Select(r => r[^1]));
        Assert.All(rows.Where(r => r[1] != "federated"), r => Assert.Equal("", r[^1]));

        var back = RunReportJson.Deserialize(RunReportJson.Serialize(report), "rounds.json");
        Assert.Equal(1.25, back.Rounds[0].DpEpsilon);
        Assert.Equal(double.PositiveInfinity, back.Rounds[2].DpEpsilon);
    }

    [Fact]
    public void Every_round_shows_the_AB_averaging_error_the_global_move_and_what_bounded_the_weights()
    {
        var plain = SampleReports.TwoHospitalsThreeRounds();
        var report = plain with
        {
            Rounds = plain.Rounds.Select(r => r with
            {
                LoraProductError = r.Round == 1 ? 0.0123 : 0, GlobalDeltaNorm = 0.5 * r.Round,
                Weighting = "budget (declared examples, at most 40 = max_steps × batch × gradient accumulation)",
                Sampling = "fixed-size sample of 2 of 2 hospitals",
            }).ToList(),
        };

        var md = ReportMarkdownWriter.ToMarkdown(report, []);
        Assert.Contains("| A/B averaging error | global moved (L2) |", md, StringComparison.Ordinal);
        Assert.Contains(md.Split('\n'), l => l.StartsWith("| 1 |", StringComparison.Ordinal) && l.Contains("| 0.0123 | 0.5000 |", StringComparison.Ordinal));
        Assert.Contains(md.Split('\n'), l => l.StartsWith("| 2 |", StringComparison.Ordinal) && l.Contains("| 0 | 1.0000 |", StringComparison.Ordinal));
        Assert.Contains("Aggregation weights: budget (declared examples, at most 40", md, StringComparison.Ordinal);
        var back = RunReportJson.Deserialize(RunReportJson.Serialize(report), "rounds.json");
        Assert.Equal(0.0123, back.Rounds[0].LoraProductError);
        Assert.Equal("fixed-size sample of 2 of 2 hospitals", back.Rounds[2].Sampling);
    }

    [Fact]
    public void Report_folder_writes_every_file_and_plots_are_real_pngs()
    {
        ReportFolder.Write(SampleReports.TwoHospitalsThreeRounds(), _dir);

        foreach (var name in new[] { ReportFolder.MetricsFile, ReportFolder.RoundsFile, ReportFolder.ReportFile })
        {
            Assert.True(File.Exists(Path.Combine(_dir, name)), name);
        }
        foreach (var plot in new[] { ReportPlotter.PerplexityFile, ReportPlotter.TrainingLossFile, ReportPlotter.BytesFile })
        {
            var bytes = File.ReadAllBytes(Path.Combine(_dir, plot));
            Assert.True(bytes.Length > 10_000, $"{plot} is only {bytes.Length} bytes");
            Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, bytes[..4]);
        }
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp"));
    }

    [Fact]
    public void Plots_are_skipped_when_there_is_nothing_to_draw()
    {
        var empty = SampleReports.TwoHospitalsThreeRounds() with { BaseEval = null, Rounds = [], Baselines = [] };
        Directory.CreateDirectory(_dir);
        Assert.Empty(ReportPlotter.WriteAll(empty, _dir));
        Assert.Empty(Directory.GetFiles(_dir, "*.png"));
    }

    [Theory]
    [InlineData(5.25, "5.2s")]
    [InlineData(75, "1m15s")]
    [InlineData(3700, "1h01m")]
    public void Durations_read_as_seconds_minutes_or_hours(double seconds, string expected)
    {
        Assert.Equal(expected, ReportMarkdownWriter.FormatDuration(seconds));
    }
}
