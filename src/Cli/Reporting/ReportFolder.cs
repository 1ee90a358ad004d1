namespace FedTune.Cli.Reporting;

/// <summary>A run's report folder: writes metrics.csv, rounds.json, the plots and report.md from one <see cref="RunReport"/>.</summary>
public static class ReportFolder
{
    public const string MetricsFile = "metrics.csv";
    public const string RoundsFile = "rounds.json";
    public const string ReportFile = "report.md";

    /// <summary>Writes (or rewrites) every report file; safe to call after each round.</summary>
    public static void Write(RunReport report, string directory)
    {
        ArgumentNullException.ThrowIfNull(report);
        Directory.CreateDirectory(directory);
        RunReportJson.Write(report, Path.Combine(directory, RoundsFile));
        AtomicFile.WriteAllText(Path.Combine(directory, MetricsFile), MetricsCsvWriter.ToCsv(report));
        var plots = ReportPlotter.WriteAll(report, directory);
        AtomicFile.WriteAllText(Path.Combine(directory, ReportFile), ReportMarkdownWriter.ToMarkdown(report, plots));
    }
}
