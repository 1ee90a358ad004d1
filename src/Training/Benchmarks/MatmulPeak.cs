using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace FedTune.Training.Benchmarks;

/// <summary>
/// The machine's practical float32 peak: the best GFLOP/s of a large square matmul through TorchSharp's libtorch at
/// the benchmark's thread count (the figure training efficiency is a fraction of).
/// </summary>
public static class MatmulPeak
{
    public static double MeasureGigaflops(int size = 2048, int repetitions = 8)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 64);
        ArgumentOutOfRangeException.ThrowIfLessThan(repetitions, 1);
        Runtime.MklCpuDispatch.Prepare(); // the peak of the kernels training gets
        using var scope = torch.NewDisposeScope();
        var generator = new Generator(1);
        var a = torch.randn([size, size], generator: generator);
        var b = torch.randn([size, size], generator: generator);
        a.mm(b).Dispose(); // warm-up
        double best = double.MaxValue;
        for (int i = 0; i < repetitions; i++)
        {
            var watch = Stopwatch.StartNew();
            a.mm(b).Dispose();
            best = Math.Min(best, watch.Elapsed.TotalSeconds);
        }

        return 2.0 * size * size * size / best / 1e9;
    }
}
