namespace FedTune.Training.Benchmarks;

/// <summary>One framework's figures for one shape: training tokens/s (non-padding tokens through forward+backward+step) and peak process memory.</summary>
public sealed record FrameworkFigures(string Framework, double TokensPerSecond, double SecondsPerStep, double PeakMemoryMiB);

/// <summary>One shape side by side; <see cref="Ratio"/> = TorchSharp tokens/s ÷ PyTorch tokens/s (null when PyTorch was not run).</summary>
public sealed record TrainBenchmarkResult(
    string Model,
    int SeqLength,
    int BatchSize,
    int Threads,
    FrameworkFigures TorchSharp,
    FrameworkFigures? PyTorch)
{
    public double? Ratio => PyTorch is { TokensPerSecond: > 0 } p ? TorchSharp.TokensPerSecond / p.TokensPerSecond : null;
}
