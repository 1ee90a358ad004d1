using System.Text;
using FedTune.Training.Privacy;

namespace FedTune.Cli.Reporting;

/// <summary>
/// The one call a run makes to audit itself: scores the records under every model, writes
/// <c>privacy-audit.json</c>, <c>privacy-audit.md</c> and the ROC PNGs into <c>outputDirectory</c>, and returns the
/// result (with <see cref="MarkdownSection"/> for the run's report.md).
/// </summary>
public static class PrivacyAuditReport
{
    public static async Task<(PrivacyAuditResult Result, IReadOnlyList<string> Plots)> RunAsync(
        AuditInputs inputs,
        PrivacyAuditOptions options,
        string outputDirectory,
        IProgress<string>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        inputs.Validate();
        var loader = HuggingFaceAuditModelLoader.ForBaseModel(inputs.BaseModelDirectory);
        var result = await PrivacyAudit.RunAsync(inputs, options, outputDirectory, loader, progress, cancellationToken).ConfigureAwait(false);
        var plots = PrivacyRocPlotter.WriteAll(result, outputDirectory);
        await File.WriteAllTextAsync(
            Path.Combine(outputDirectory, PrivacyAuditResult.MarkdownFileName), MarkdownSection(result, plots, ".", 1), cancellationToken).ConfigureAwait(false);
        return (result, plots);
    }

    /// <summary>
    /// The audit as a report section: the table and canary exposures, followed by the plots linked relative to the
    /// report (<paramref name="plotFolder"/> is the plots' folder relative to report.md, e.g. "privacy").
    /// </summary>
    public static string MarkdownSection(PrivacyAuditResult result, IReadOnlyList<string> plots, string plotFolder = ".", int headingLevel = 2)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(plots);
        var md = new StringBuilder(PrivacyAuditMarkdown.Render(result, headingLevel)).AppendLine();
        foreach (var plot in plots)
        {
            var link = plotFolder == "." ? plot : $"{plotFolder.TrimEnd('/')}/{plot}";
            md.AppendLine(System.Globalization.CultureInfo.InvariantCulture, $"![{Path.GetFileNameWithoutExtension(plot)}]({link})").AppendLine();
        }

        return md.ToString();
    }
}
