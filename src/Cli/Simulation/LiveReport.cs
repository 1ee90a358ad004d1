using FedTune.Cli.Reporting;

namespace FedTune.Cli.Simulation;

/// <summary>
/// The report of a running simulation. Each step of the run adds what it found with <see cref="Update"/>, and the report
/// folder is rewritten at once, so report.md always shows everything finished so far (also when a later step fails).
/// </summary>
public sealed class LiveReport(RunReport initial, string directory)
{
    public RunReport Current { get; private set; } = initial;

    /// <summary>Applies <paramref name="change"/> and rewrites the report folder.</summary>
    public void Update(Func<RunReport, RunReport> change)
    {
        ArgumentNullException.ThrowIfNull(change);
        Current = change(Current);
        ReportFolder.Write(Current, directory);
    }

    /// <summary>Applies <paramref name="change"/> without writing (for the final outcome, written by the caller).</summary>
    public void Set(Func<RunReport, RunReport> change)
    {
        ArgumentNullException.ThrowIfNull(change);
        Current = change(Current);
    }
}
