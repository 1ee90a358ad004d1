namespace FedTune.Training.Benchmarks;

/// <summary>
/// What <see cref="TrainBenchmark.Run"/> measures: the seed's training step (batch 2, LoRA r16/alpha64 on
/// query_key_value, AdamW, clipping, cosine schedule) for each shape, timed after <see cref="WarmupSteps"/>.
/// <see cref="PythonExecutable"/> runs <c>scripts/bench_train.py</c> for the PyTorch-eager side; null skips it.
/// </summary>
public sealed record TrainBenchmarkOptions
{
    public IReadOnlyList<BenchmarkModelShape> Shapes { get; init; } = [BenchmarkModelShape.Pythia70m, BenchmarkModelShape.EmbeddedSmall];

    public int SeqLength { get; init; } = 512;

    public int BatchSize { get; init; } = 2;

    public int Steps { get; init; } = 3;

    public int WarmupSteps { get; init; } = 1;

    /// <summary>Intra-op threads for both frameworks.</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;

    public int LoraR { get; init; } = 16;

    public double LoraAlpha { get; init; } = 64;

    public double LoraDropout { get; init; } = 0.075;

    public double LearningRate { get; init; } = 5e-4;

    public int Seed { get; init; } = 42;

    public string? PythonExecutable { get; init; } = "/usr/bin/python3";

    /// <summary>Path of <c>bench_train.py</c>; null finds <c>scripts/bench_train.py</c> above the working or base directory.</summary>
    public string? ScriptPath { get; init; }

    public void Validate()
    {
        if (SeqLength < 2 || BatchSize < 1 || Steps < 1 || WarmupSteps < 0 || Threads < 1 || LoraR < 1)
        {
            throw new ArgumentException(
                $"Benchmark settings out of range (seq_length {SeqLength} ≥ 2, batch {BatchSize} ≥ 1, steps {Steps} ≥ 1, " +
                $"warmup {WarmupSteps} ≥ 0, threads {Threads} ≥ 1, lora r {LoraR} ≥ 1).");
        }

        if (Shapes.Count == 0)
        {
            throw new ArgumentException("The benchmark needs at least one model shape.");
        }
    }
}
