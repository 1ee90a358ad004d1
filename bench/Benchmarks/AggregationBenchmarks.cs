using System.Numerics.Tensors;
using BenchmarkDotNet.Attributes;
using FedTune.Core.Benchmarks;

namespace FedTune.Benchmarks;

/// <summary>
/// Weighted sum of K client updates of P float32 parameters: our kernel against a naive loop, with memcpy of the
/// same bytes as the baseline (the practical bandwidth limit). Ratios are what matter; see docs/core.md.
/// </summary>
[MemoryDiagnoser]
public class AggregationBenchmarks
{
    private float[][] _updates = [];
    private float[] _accumulator = [];
    private float[] _copyTarget = [];

    [Params(10)]
    public int Clients { get; set; }

    [Params(1_000_000, 16_000_000)]
    public int Parameters { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(7);
        _updates = Enumerable.Range(0, 3).Select(_ => Enumerable.Range(0, Parameters).Select(_ => (float)random.NextDouble()).ToArray()).ToArray();
        _accumulator = new float[Parameters];
        _copyTarget = new float[Parameters];
    }

    [Benchmark(Baseline = true)]
    public void Memcpy()
    {
        for (var i = 0; i < Clients; i++)
        {
            _updates[i % _updates.Length].AsSpan().CopyTo(_copyTarget);
        }
    }

    [Benchmark]
    public void StreamingFedAvgKernel()
    {
        Array.Clear(_accumulator);
        var weight = 1f / Clients;
        for (var i = 0; i < Clients; i++)
        {
            TensorPrimitives.MultiplyAdd(_updates[i % _updates.Length], weight, _accumulator, _accumulator);
        }
    }

    [Benchmark]
    public void NaiveScalarLoop()
    {
        Array.Clear(_accumulator);
        var weight = 1f / Clients;
        for (var i = 0; i < Clients; i++)
        {
            AggregationBenchmark.NaiveAccumulate(_updates[i % _updates.Length], weight, _accumulator);
        }
    }
}
