using FedTune.Training.Benchmarks;
using FedTune.Training.Modeling;
using Xunit;

namespace FedTune.Training.Tests.Trainer;

public sealed class TrainBenchmarkTests
{
    private static readonly BenchmarkModelShape Tiny = new("tiny", new GptNeoXConfig
    {
        VocabSize = 128, HiddenSize = 32, NumHiddenLayers = 1, NumAttentionHeads = 2, IntermediateSize = 64, MaxPositionEmbeddings = 64,
    });

    [Fact]
    public void Run_measures_the_trainer_on_a_shape_without_python()
    {
        var log = new StringWriter();

        var result = Assert.Single(TrainBenchmark.Run(new TrainBenchmarkOptions
        {
            Shapes = [Tiny], SeqLength = 16, Steps = 2, Threads = 1, LoraR = 4, PythonExecutable = null,
        }, log));

        Assert.True(result.TorchSharp.TokensPerSecond > 0);
        Assert.True(result.TorchSharp.PeakMemoryMiB > 0);
        Assert.Null(result.Ratio);
        Assert.Contains("[tiny] TorchSharp", log.ToString(), StringComparison.Ordinal);
    }

    [PyTorchAvailableFact]
    public void Run_puts_pytorch_eager_beside_the_trainer_and_reports_the_ratio()
    {
        var result = Assert.Single(TrainBenchmark.Run(new TrainBenchmarkOptions
        {
            Shapes = [Tiny], SeqLength = 16, Steps = 1, Threads = 1, LoraR = 4, PythonExecutable = PyTorchAvailableFactAttribute.Python,
        }));

        Assert.NotNull(result.PyTorch);
        Assert.StartsWith("pytorch-eager", result.PyTorch!.Framework, StringComparison.Ordinal);
        Assert.True(result.PyTorch.TokensPerSecond > 0);
        Assert.True(result.Ratio > 0);
    }
}
