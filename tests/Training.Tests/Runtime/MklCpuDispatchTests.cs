using FedTune.Training.Benchmarks;
using FedTune.Training.Modeling;
using FedTune.Training.Runtime;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FedTune.Training.Tests.Runtime;

public sealed class MklCpuDispatchTests
{
    private const int MklCbwrAvx512 = 12, MklCbwrAvx512E1 = 14;

    [Fact]
    public void Training_processes_run_on_MKLs_AVX512_kernels_wherever_the_CPU_is_an_AMD_with_AVX512()
    {
        using var model = new GptNeoXForCausalLM(new GptNeoXConfig
        {
            VocabSize = 64, HiddenSize = 32, NumHiddenLayers = 1, NumAttentionHeads = 2, IntermediateSize = 64, MaxPositionEmbeddings = 16,
        });
        using (var scope = torch.NewDisposeScope())
        {
            model.InitializeRandom(3);
            using var noGrad = torch.no_grad();
            Assert.Equal(new long[] { 1, 8, 64 }, model.Forward(torch.arange(8).unsqueeze(0), null).shape);
        }

        string description = Assert.IsType<string>(MklCpuDispatch.Description);
        if (MklCpuDispatch.NotApplicable() is { } reason)
        {
            Assert.Equal(reason, description);
            Assert.False(MklCpuDispatch.Avx512Enabled);
            return;
        }

        Assert.StartsWith("MKL: AVX-512 kernels on this AMD CPU", description, StringComparison.Ordinal);
        Assert.True(MklCpuDispatch.Avx512Enabled);
        var branch = MklCpuDispatch.AutoBranch();
        Assert.True(branch is MklCbwrAvx512 or MklCbwrAvx512E1, $"MKL's automatic branch is {branch}, not AVX-512 (12 or 14); threads {torch.get_num_threads()}");
    }

    [Fact]
    public void Avx512_matmuls_agree_with_a_float64_reference_to_float32_rounding()
    {
        MklCpuDispatch.Prepare();
        using var scope = torch.NewDisposeScope();
        var generator = new Generator(5);
        var a = torch.randn([300, 512], generator: generator);
        var b = torch.randn([512, 700], generator: generator);
        var reference = a.to(ScalarType.Float64).mm(b.to(ScalarType.Float64));
        double worst = (a.mm(b).to(ScalarType.Float64) - reference).abs().max().item<double>();
        Assert.True(worst < 1e-3, $"largest difference {worst} from the float64 product (entries of about ±22)");
    }

    [Fact]
    public void The_training_benchmark_says_which_MKL_kernels_it_measured()
    {
        var log = new StringWriter();
        TrainBenchmark.Run(new TrainBenchmarkOptions
        {
            Shapes = [new BenchmarkModelShape("tiny", new GptNeoXConfig { VocabSize = 64, HiddenSize = 32, NumHiddenLayers = 1, NumAttentionHeads = 2, IntermediateSize = 64, MaxPositionEmbeddings = 32 })],
            SeqLength = 16, Steps = 1, Repetitions = 1, Threads = 1, LoraR = 4, PythonExecutable = null,
        }, log);

        Assert.Contains(MklCpuDispatch.Prepare(), log.ToString(), StringComparison.Ordinal);
    }
}
