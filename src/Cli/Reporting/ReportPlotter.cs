using ScottPlot;

namespace FedTune.Cli.Reporting;

/// <summary>The report's PNG plots (ScottPlot): held-out perplexity per round for every arm, per-hospital training loss,
/// and bytes moved per round. Each plot is written only when the report has data for it.</summary>
public static class ReportPlotter
{
    public const string PerplexityFile = "perplexity.png";
    public const string TrainingLossFile = "training-loss.png";
    public const string BytesFile = "bytes.png";
    private const int Width = 900;
    private const int Height = 540;

    /// <summary>Writes the plots into <paramref name="directory"/> and returns the file names written.</summary>
    public static IReadOnlyList<string> WriteAll(RunReport report, string directory)
    {
        ArgumentNullException.ThrowIfNull(report);
        var written = new List<string>();
        if (WritePerplexity(report, Path.Combine(directory, PerplexityFile))) written.Add(PerplexityFile);
        if (WriteTrainingLoss(report, Path.Combine(directory, TrainingLossFile))) written.Add(TrainingLossFile);
        if (WriteBytes(report, Path.Combine(directory, BytesFile))) written.Add(BytesFile);
        return written;
    }

    /// <summary>Global held-out perplexity per round: federated (round 0 = the base model), centralized, local-only.</summary>
    public static bool WritePerplexity(RunReport report, string path)
    {
        ArgumentNullException.ThrowIfNull(report);
        var federated = new List<(double X, double Y)>();
        if (report.BaseEval is { } b) federated.Add((0, b.Perplexity));
        federated.AddRange(report.Rounds.Where(r => r.GlobalEval is not null).Select(r => ((double)r.Round, r.GlobalEval!.Perplexity)));
        if (federated.Count == 0 && report.Baselines.Count == 0) return false;

        var plot = new Plot();
        AddLine(plot, federated, "federated", 3);
        if (report.PrivateFederation is { } dp)
        {
            var withDp = new List<(double X, double Y)>();
            if (report.BaseEval is { } b1) withDp.Add((0, b1.Perplexity));
            withDp.AddRange(dp.Rounds.Where(r => r.GlobalEval is not null).Select(r => ((double)r.Round, r.GlobalEval!.Perplexity)));
            var line = AddLine(plot, withDp, "federated + DP", 3);
            if (line is not null) line.LinePattern = LinePattern.Dotted;
        }
        foreach (var curve in report.Baselines)
        {
            var points = new List<(double X, double Y)>();
            if (report.BaseEval is { } b0) points.Add((0, b0.Perplexity));
            points.AddRange(curve.Points.Select(p => ((double)p.Round, p.Eval.Perplexity)));
            var line = AddLine(plot, points, curve.Label, curve.Arm == "centralized" ? 2 : 1);
            if (line is not null && curve.Arm != "centralized") line.LinePattern = LinePattern.Dashed;
        }
        Finish(plot, "Held-out perplexity per round (lower is better)", "round (0 = base model)", "perplexity");
        plot.SavePng(path, Width, Height);
        return true;
    }

    /// <summary>Each hospital's mean training loss per round.</summary>
    public static bool WriteTrainingLoss(RunReport report, string path)
    {
        ArgumentNullException.ThrowIfNull(report);
        var byHospital = report.Rounds
            .SelectMany(r => r.Hospitals.Where(h => h.TrainLoss is { } l && double.IsFinite(l)).Select(h => (r.Round, h)))
            .GroupBy(x => x.h.HospitalId, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .ToList();
        if (byHospital.Count == 0) return false;
        var plot = new Plot();
        foreach (var g in byHospital)
        {
            AddLine(plot, g.Select(x => ((double)x.Round, x.h.TrainLoss!.Value)).ToList(), g.Key, 2);
        }
        Finish(plot, "Training loss per hospital", "round", "mean training loss (nats/token)");
        plot.SavePng(path, Width, Height);
        return true;
    }

    /// <summary>Megabytes uploaded (adapters) and downloaded (global adapter) per round, summed over hospitals.</summary>
    public static bool WriteBytes(RunReport report, string path)
    {
        ArgumentNullException.ThrowIfNull(report);
        if (report.Rounds.Count == 0) return false;
        var plot = new Plot();
        const double mb = 1024.0 * 1024.0;
        AddLine(plot, report.Rounds.Select(r => ((double)r.Round, r.Hospitals.Sum(h => h.BytesUp) / mb)).ToList(), "uploaded (adapters)", 2);
        AddLine(plot, report.Rounds.Select(r => ((double)r.Round, r.Hospitals.Sum(h => h.BytesDown) / mb)).ToList(), "downloaded (global adapter)", 2);
        Finish(plot, "Bytes moved per round (all hospitals)", "round", "MiB");
        plot.SavePng(path, Width, Height);
        return true;
    }

    private static ScottPlot.Plottables.Scatter? AddLine(Plot plot, IReadOnlyList<(double X, double Y)> points, string label, float width)
    {
        if (points.Count == 0) return null;
        var scatter = plot.Add.Scatter(points.Select(p => p.X).ToArray(), points.Select(p => p.Y).ToArray());
        scatter.LegendText = label;
        scatter.LineWidth = width;
        scatter.MarkerSize = 7;
        return scatter;
    }

    private static void Finish(Plot plot, string title, string xLabel, string yLabel)
    {
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        plot.ShowLegend(Alignment.UpperRight);
    }
}
