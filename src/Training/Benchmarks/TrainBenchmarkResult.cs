namespace FedTune.Training.Benchmarks;

/// <summary>
/// One framework's figures for one shape over the interleaved repetitions: seconds per step (every timed step; the
/// minimum and median are reported), training tokens/s at the median step, achieved GFLOP/s (hardware FLOPs of a
/// step ÷ the median step) and the process's peak resident memory.
/// </summary>
public sealed record FrameworkFigures(string Framework, IReadOnlyList<double> StepSeconds, double TokensPerStep, double HardwareFlopsPerStep, double PeakMemoryMiB)
{
    public double MinSecondsPerStep => StepSeconds.Min();

    public double MedianSecondsPerStep => Median(StepSeconds);

    public double TokensPerSecond => TokensPerStep / MedianSecondsPerStep;

    public double Gigaflops => HardwareFlopsPerStep / MedianSecondsPerStep / 1e9;

    public static double Median(IReadOnlyList<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var sorted = values.Order().ToArray();
        int mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
}

/// <summary>
/// One shape side by side. <see cref="Ratio"/> = PyTorch's median step ÷ TorchSharp's (how many times faster the C#
/// trainer is; null when PyTorch was not run); <see cref="PeakFraction"/> = TorchSharp's GFLOP/s ÷ the measured peak.
/// </summary>
public sealed record TrainBenchmarkResult(
    string Model,
    int SeqLength,
    int BatchSize,
    int Threads,
    string Recipe,
    double PeakGigaflops,
    FrameworkFigures TorchSharp,
    FrameworkFigures? PyTorch)
{
    public double? Ratio => PyTorch is { } p ? p.MedianSecondsPerStep / TorchSharp.MedianSecondsPerStep : null;

    public double PeakFraction => TorchSharp.Gigaflops / PeakGigaflops;
}
