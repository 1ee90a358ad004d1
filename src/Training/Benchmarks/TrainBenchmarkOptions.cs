using FedTune.Core.Configuration;

namespace FedTune.Training.Benchmarks;

/// <summary>
/// What <see cref="TrainBenchmark.Run"/> measures: the seed's training step (batch 2 × 512 tokens, LoRA r16/alpha64 on
/// query_key_value, NF4 base weights, gradient checkpointing, AdamW, clipping, cosine schedule) for each shape.
/// Each of <see cref="Repetitions"/> rounds times <see cref="Steps"/> steps of the C# trainer and then the same steps
/// of <c>scripts/bench_train.py</c> (PyTorch eager), so both see the same machine load; <see cref="PythonExecutable"/>
/// null skips PyTorch.
/// </summary>
public sealed record TrainBenchmarkOptions
{
    public IReadOnlyList<BenchmarkModelShape> Shapes { get; init; } = [BenchmarkModelShape.Pythia70m];

    public int SeqLength { get; init; } = 512;

    public int BatchSize { get; init; } = 2;

    /// <summary>Timed steps per repetition and framework.</summary>
    public int Steps { get; init; } = 2;

    /// <summary>Untimed steps before each repetition's timed ones.</summary>
    public int WarmupSteps { get; init; } = 1;

    /// <summary>Interleaved rounds (C# then PyTorch).</summary>
    public int Repetitions { get; init; } = 3;

    /// <summary>Intra-op threads for both frameworks.</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;

    public BaseQuantization Quantization { get; init; } = BaseQuantization.Nf4;

    public bool GradientCheckpointing { get; init; } = true;

    public int LoraR { get; init; } = 16;

    public double LoraAlpha { get; init; } = 64;

    public double LoraDropout { get; init; } = 0.075;

    public double LearningRate { get; init; } = 5e-4;

    public int Seed { get; init; } = 42;

    public string? PythonExecutable { get; init; } = "/usr/bin/python3";

    /// <summary>Path of <c>bench_train.py</c>; null finds <c>scripts/bench_train.py</c> above the working or base directory.</summary>
    public string? ScriptPath { get; init; }

    /// <summary>"nf4 + checkpointing" etc.: the recipe both frameworks run.</summary>
    public string Recipe =>
        (Quantization switch { BaseQuantization.Nf4 => "nf4", BaseQuantization.Int8 => "int8", _ => "fp32" })
        + (GradientCheckpointing ? " + checkpointing" : string.Empty);

    public void Validate()
    {
        if (SeqLength < 2 || BatchSize < 1 || Steps < 1 || WarmupSteps < 0 || Repetitions < 1 || Threads < 1 || LoraR < 1)
        {
            throw new ArgumentException(
                $"Benchmark settings out of range (seq_length {SeqLength} ≥ 2, batch {BatchSize} ≥ 1, steps {Steps} ≥ 1, " +
                $"warmup {WarmupSteps} ≥ 0, repetitions {Repetitions} ≥ 1, threads {Threads} ≥ 1, lora r {LoraR} ≥ 1).");
        }

        if (Shapes.Count == 0)
        {
            throw new ArgumentException("The benchmark needs at least one model shape.");
        }

        if (Quantization == BaseQuantization.Int8 && PythonExecutable is not null)
        {
            throw new ArgumentException("The PyTorch side has no int8 base: benchmark nf4 or fp32 against it, or skip PyTorch.");
        }
    }
}
