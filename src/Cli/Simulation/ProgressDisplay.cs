using System.Globalization;
using FedTune.Cli.Reporting;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace FedTune.Cli.Simulation;

/// <summary>
/// Shows a <see cref="SimulationStatus"/>: a live Spectre.Console table (round k of R, each hospital's state and
/// loss, elapsed time) on a terminal, or one plain timestamped line per change when output is redirected.
/// </summary>
public sealed class ProgressDisplay : IAsyncDisposable
{
    private readonly SimulationStatus _status;
    private readonly TextWriter _plain;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task? _live;

    private ProgressDisplay(SimulationStatus status, TextWriter plain, bool live)
    {
        _status = status;
        _plain = plain;
        if (live)
        {
            _live = Task.Run(RunLiveAsync);
        }
        else
        {
            _status.Changed += WritePlainLine;
        }
    }

    /// <summary>Live when stdout is an interactive terminal, plain lines otherwise.</summary>
    public static ProgressDisplay Start(SimulationStatus status, TextWriter? plain = null, bool? live = null) =>
        new(status, plain ?? Console.Out, live ?? (!Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive));

    /// <summary>The table the live display draws (also used once at the end on a terminal).</summary>
    public static IRenderable Render(StatusSnapshot s)
    {
        var table = new Table().Border(TableBorder.Rounded)
            .Title(Markup.Escape(s.TotalRounds > 0 && s.Round > 0
                ? string.Create(CultureInfo.InvariantCulture, $"FedTune simulation: round {s.Round} of {s.TotalRounds}")
                : "FedTune simulation: " + s.Stage))
            .Caption(Markup.Escape(Caption(s)));
        table.AddColumn("hospital");
        table.AddColumn("state");
        table.AddColumn(new TableColumn("loss").RightAligned());
        table.AddColumn(new TableColumn("for").RightAligned());
        foreach (var h in s.Hospitals)
        {
            table.AddRow(
                new Markup(Markup.Escape(h.HospitalId)),
                new Markup(h.Activity is { } activity && h.State == HospitalRoundState.Waiting ? "[yellow]" + Markup.Escape(activity) + "[/]" : StateMarkup(h.State)),
                new Markup(h.Loss is { } l ? l.ToString("F4", CultureInfo.InvariantCulture) : "–"),
                new Markup(Markup.Escape(ReportMarkdownWriter.FormatDuration((DateTimeOffset.UtcNow - h.Since).TotalSeconds))));
        }
        var lines = (s.RecentMessages ?? []).Select(m => (IRenderable)new Markup("[grey]" + Markup.Escape(m) + "[/]")).ToList();
        lines.Add(table);
        return new Rows(lines);
    }

    private static string Caption(StatusSnapshot s)
    {
        var parts = new List<string> { s.Stage, "elapsed " + ReportMarkdownWriter.FormatDuration(s.Elapsed.TotalSeconds) };
        if (s.BaseEval is { } b) parts.Add(string.Create(CultureInfo.InvariantCulture, $"base ppl {b.Perplexity:F2}"));
        if (s.LastGlobalEval is { } g) parts.Add(string.Create(CultureInfo.InvariantCulture, $"global ppl {g.Perplexity:F2}"));
        return string.Join(" · ", parts);
    }

    private static string StateMarkup(HospitalRoundState state) => state switch
    {
        HospitalRoundState.Waiting => "[grey]waiting[/]",
        HospitalRoundState.Training => "[yellow]training[/]",
        HospitalRoundState.Uploaded => "[green]uploaded[/]",
        HospitalRoundState.Straggler => "[red]straggler[/]",
        HospitalRoundState.Rejected => "[red]rejected[/]",
        _ => Markup.Escape(state.ToString()),
    };

    private void WritePlainLine(string line)
    {
        var elapsed = _status.Snapshot().Elapsed;
        lock (_plain)
        {
            _plain.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{(int)elapsed.TotalMinutes:D2}:{elapsed.Seconds:D2}] {line}"));
            _plain.Flush();
        }
    }

    private async Task RunLiveAsync()
    {
        await AnsiConsole.Live(Render(_status.Snapshot())).AutoClear(false).StartAsync(async ctx =>
        {
            while (!_stop.IsCancellationRequested)
            {
                ctx.UpdateTarget(Render(_status.Snapshot()));
                ctx.Refresh();
                try
                {
                    await Task.Delay(500, _stop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
            ctx.UpdateTarget(Render(_status.Snapshot()));
            ctx.Refresh();
        }).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        _status.Changed -= WritePlainLine;
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_live is not null) await _live.ConfigureAwait(false);
        _stop.Dispose();
    }
}
