using FedTune.Core.Adapters;
using FedTune.Training.Data;
using FedTune.Training.Lora;
using FedTune.Training.Modeling;
using TorchSharp;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace FedTune.Training.Tests.Modeling;

[Collection(nameof(ProcessMemoryMeasurements))]
public sealed class ChunkedLinearCrossEntropyTests(ITestOutputHelper output)
{
    private static (double Loss, Tensor Gradient) LossAndHiddenGradient(Tensor hidden, Func<Tensor, Tensor> sumNll)
    {
        var leaf = hidden.detach().clone().requires_grad_(true);
        var loss = sumNll(leaf);
        (loss * 0.37).backward();
        return (loss.to_type(ScalarType.Float64).item<double>(), leaf.grad!.clone());
    }

    [Theory]
    [InlineData(1L)]
    [InlineData(53L * 4)]
    [InlineData(ChunkedLinearCrossEntropy.DefaultChunkElements)]
    public void Loss_and_hidden_gradient_equal_cross_entropy_on_the_full_logits(long chunkElements)
    {
        using var scope = torch.NewDisposeScope();
        var generator = new Generator(5);
        var hidden = torch.randn([3, 11, 16], generator: generator);
        var weight = torch.randn([53, 16], generator: generator);
        var labels = torch.randint(0, 53, [3, 11], generator: generator);
        labels[0, ..4] = torch.tensor((long)TokenizedExample.IgnoreIndex);
        labels[2, 7..] = torch.tensor((long)TokenizedExample.IgnoreIndex);

        var expected = LossAndHiddenGradient(hidden, h => CausalLmLoss.SumNll(h.matmul(weight.t()), labels));
        var actual = LossAndHiddenGradient(hidden, h => ChunkedLinearCrossEntropy.SumNll(h, weight, labels, chunkElements));

        Assert.True(Math.Abs(actual.Loss - expected.Loss) < 1e-5 * Math.Abs(expected.Loss), $"loss {actual.Loss} vs {expected.Loss}");
        Assert.True(ModelTestSupport.MaxRelativeError(actual.Gradient, expected.Gradient) < 1e-6, "hidden-state gradients differ");
        Assert.Equal(0f, actual.Gradient[.., ^1, ..].abs().max().item<float>());
    }

    [Fact]
    public void The_row_kernel_gives_log_softmax_and_softmax_minus_one_hot_even_for_logits_that_overflow_exp()
    {
        using var scope = torch.NewDisposeScope();
        var generator = new Generator(8);
        var logits = (torch.randn([5, 301], generator: generator) * 40) + torch.tensor(new float[] { 0, 1e4f, -1e4f, 88, -3 }).unsqueeze(1);
        long[] targets = [7, 0, 300, 150, 42];
        var expectedNll = -logits.log_softmax(1).gather(1, torch.tensor(targets).unsqueeze(1)).sum().to(ScalarType.Float64).item<double>();
        var expectedGradient = logits.softmax(1).scatter_add(1, torch.tensor(targets).unsqueeze(1), torch.full([5, 1], -1f));

        var inPlace = logits.clone();
        var nll = SoftmaxRows.NllAndGradient(inPlace, 5, targets, 0, writeGradient: true);

        Assert.True(Math.Abs(nll - expectedNll) < 1e-5 * Math.Abs(expectedNll), $"NLL {nll} vs {expectedNll}");
        Assert.True(ModelTestSupport.MaxRelativeError(inPlace, expectedGradient) < 1e-6, "softmax − one-hot differs");
        Assert.Equal(nll, SoftmaxRows.NllAndGradient(logits.clone(), 5, targets, 0, writeGradient: false));
    }

    [Fact]
    public void Without_a_graph_it_returns_the_same_loss_and_keeps_nothing_for_backward()
    {
        using var scope = torch.NewDisposeScope();
        var generator = new Generator(6);
        var hidden = torch.randn([2, 7, 8], generator: generator);
        var weight = torch.randn([19, 8], generator: generator);
        var labels = torch.randint(0, 19, [2, 7], generator: generator);
        using var noGrad = torch.no_grad();
        var expected = CausalLmLoss.SumNll(hidden.matmul(weight.t()), labels).item<float>();
        var actual = ChunkedLinearCrossEntropy.SumNll(hidden, weight, labels, 19 * 3);
        Assert.False(actual.requires_grad);
        Assert.Equal(expected, actual.item<float>(), 4);
    }

    [Fact]
    public void A_trainable_output_weight_is_refused()
    {
        using var scope = torch.NewDisposeScope();
        var weight = torch.randn(5, 4).requires_grad_(true);
        var error = Assert.Throws<ArgumentException>(() => ChunkedLinearCrossEntropy.SumNll(torch.randn(1, 3, 4), weight, torch.zeros(1, 3, dtype: ScalarType.Int64)));
        Assert.Contains("full logits", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void The_models_loss_and_adapter_gradients_equal_the_full_logits_reference(bool checkpointing)
    {
        using var model = ModelTestSupport.TinyModel(seed: 3);
        LoraInjector.Apply(model, new LoraAdapterConfig { R = 4, LoraAlpha = 8, LoraDropout = 0.1, TargetModules = ["query_key_value", "dense_4h_to_h"] }, seed: 1);
        using (torch.no_grad())
            foreach (var (_, p) in model.AdapterParameters.Where(p => p.Key.Contains("lora_B", StringComparison.Ordinal)))
                p.normal_(0, 0.1);
        model.GradientCheckpointing = checkpointing;
        model.SetTraining(true);
        using var scope = torch.NewDisposeScope();
        var ids = ModelTestSupport.RandomIds(2, 9, model.VocabularySize, 4);
        var mask = torch.ones(2, 9, dtype: ScalarType.Int64);
        mask[1, ..2] = torch.tensor(0L);
        var labels = ids.masked_fill(mask.eq(0), TokenizedExample.IgnoreIndex);

        (double Loss, Dictionary<string, Tensor> Gradients) Run(Func<Tensor> loss)
        {
            foreach (var p in model.AdapterParameters.Values) p.grad = null;
            torch.random.manual_seed(77);
            var value = loss();
            value.backward();
            return (value.item<float>(), model.AdapterParameters.ToDictionary(p => p.Key, p => p.Value.grad!.clone()));
        }

        var reference = Run(() => CausalLmLoss.SumNll(model.Forward(ids, mask), labels));
        var chunked = Run(() => model.SumNll(ids, mask, labels));
        Assert.True(Math.Abs(chunked.Loss - reference.Loss) < 1e-5 * Math.Abs(reference.Loss), $"loss {chunked.Loss} vs {reference.Loss}");
        foreach (var (name, expected) in reference.Gradients)
        {
            Assert.True(expected.abs().sum().item<float>() > 0, $"{name} has a zero gradient");
            Assert.True(ModelTestSupport.MaxRelativeError(chunked.Gradients[name], expected) < 1e-5, $"{name}: gradient differs");
        }
    }

    [Fact]
    public void The_models_training_loss_never_holds_the_full_logits()
    {
        // A vocabulary-heavy shape: the [2, 256, 50304] float32 logits alone are 103 MB.
        var config = ModelTestSupport.TinyConfig() with { VocabSize = 50304, MaxPositionEmbeddings = 256 };
        using var model = new GptNeoXForCausalLM(config);
        model.InitializeRandom(1);
        LoraInjector.Apply(model, new LoraAdapterConfig { R = 4, LoraAlpha = 8 }, seed: 1);
        model.SetTraining(true);
        using var idsScope = torch.NewDisposeScope();
        var ids = ModelTestSupport.RandomIds(2, 256, config.VocabSize, 3);

        long HeldForBackward(Func<Tensor> loss)
        {
            using var scope = torch.NewDisposeScope();
            GC.Collect();
            GC.WaitForPendingFinalizers();
            long before = ResidentMemory.TrimmedBytes();
            var value = loss();
            long held = ResidentMemory.TrimmedBytes() - before;
            value.backward();
            return held;
        }

        long Median(Func<Tensor> loss) => Enumerable.Range(0, 3).Select(_ => HeldForBackward(loss)).Order().ElementAt(1);
        HeldForBackward(() => model.SumNll(ids, null, ids));
        long full = Median(() => CausalLmLoss.SumNll(model.Forward(ids, null), ids));
        long chunked = Median(() => model.SumNll(ids, null, ids));
        output.WriteLine($"memory held for backward (B=2, T=256, vocab 50304): full logits {full / 1e6:F1} MB, chunked {chunked / 1e6:F1} MB");
        Assert.True(full > 100_000_000, $"the reference should hold the logits, held {full} bytes");
        Assert.True(chunked < 40_000_000, $"the chunked loss held {chunked} bytes between forward and backward");
    }
}
