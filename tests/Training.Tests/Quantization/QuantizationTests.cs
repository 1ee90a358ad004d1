using FedTune.Core.Configuration;
using FedTune.Training.Lora;
using FedTune.Training.Modeling;
using FedTune.Training.Quantization;
using FedTune.Training.Tests.Modeling;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FedTune.Training.Tests.Quantization;

public sealed class QuantizationTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static Tensor RandomWeight(long rows, long cols, long seed) =>
        torch.randn([rows, cols], generator: new Generator((ulong)seed)) * 0.05f;

    [Fact]
    public void Nf4_error_per_value_is_at_most_half_the_widest_code_gap_times_the_block_absmax()
    {
        using var scope = torch.NewDisposeScope();
        var weight = RandomWeight(96, 40, 1); // 3840 values: 60 blocks of 64
        using var nf4 = (Nf4Weight)QuantizedWeight.Create(weight, BaseQuantization.Nf4);
        var restored = nf4.Dequantize();
        Assert.Equal(weight.shape, restored.shape);
        var blocks = weight.flatten().view(-1, Nf4Weight.BlockSize);
        var absmax = blocks.abs().amax([1], keepdim: true);
        var error = (restored.flatten().view(-1, Nf4Weight.BlockSize) - blocks).abs();
        double halfGap = Nf4Weight.CodeValues.Zip(Nf4Weight.CodeValues.Skip(1), (a, b) => (b - a) / 2.0).Max();
        Assert.True((error <= (absmax * halfGap) + 1e-7).all().item<bool>());
        Assert.True(torch.allclose(nf4.Absmax, absmax.squeeze(1)));
        Assert.Equal(3840 / 2, nf4.PackedCodes.NumberOfElements);
        Assert.Equal((3840 / 2) + (60 * 4), nf4.ByteCount);
    }

    [Fact]
    public void Nf4_packs_the_first_value_in_the_high_nibble_and_reproduces_code_values_exactly()
    {
        using var scope = torch.NewDisposeScope();
        var values = new float[64];
        values[0] = -2f;  // code 0 (-1 * absmax)
        values[1] = 2f;   // code 15
        values[2] = 0f;   // code 7
        values[3] = 2f * 0.5626170039176941f; // code 13
        using var nf4 = (Nf4Weight)QuantizedWeight.Create(torch.tensor(values, [1, 64]), BaseQuantization.Nf4);
        var packed = nf4.PackedCodes.to(ScalarType.Int32).data<int>().ToArray();
        Assert.Equal(0x0F, packed[0]);
        Assert.Equal(0x7D, packed[1]);
        var restored = nf4.Dequantize().flatten().data<float>().ToArray();
        Assert.Equal(values.Take(4), restored.Take(4));
    }

    [Theory]
    [InlineData(96L, 40L)]    // 60 blocks
    [InlineData(1536L, 512L)] // pythia-70m's query_key_value: 12,288 blocks
    [InlineData(37L, 91L)]    // 3,367 values: a partial last block
    public void Nf4_dequantizes_to_the_code_value_times_the_block_absmax_bit_for_bit(long rows, long cols)
    {
        using var scope = torch.NewDisposeScope();
        using var nf4 = (Nf4Weight)QuantizedWeight.Create(RandomWeight(rows, cols, 4), BaseQuantization.Nf4);
        var codes = nf4.PackedCodes.to(ScalarType.Int64);
        var table = torch.tensor(Nf4Weight.CodeValues);
        var unpacked = torch.stack([table.index_select(0, codes.div(16, rounding_mode: RoundingMode.floor)), table.index_select(0, codes.remainder(16))], 1).flatten();
        var scales = nf4.Absmax.repeat_interleave(Nf4Weight.BlockSize);
        var expected = (unpacked.narrow(0, 0, rows * cols) * scales.narrow(0, 0, rows * cols)).view(rows, cols);

        var actual = nf4.Dequantize();

        Assert.Equal(expected.shape, actual.shape);
        Assert.Equal(0f, (actual - expected).abs().max().item<float>());
    }

    [Fact]
    public void Int8_rowwise_error_is_at_most_half_a_step()
    {
        using var scope = torch.NewDisposeScope();
        var weight = RandomWeight(24, 50, 2);
        using var int8 = (Int8Weight)QuantizedWeight.Create(weight, BaseQuantization.Int8);
        var step = weight.abs().amax([1], keepdim: true) / 127;
        Assert.True(((int8.Dequantize() - weight).abs() <= (step / 2) + 1e-7).all().item<bool>());
        Assert.Equal((24 * 50) + (24 * 4), int8.ByteCount);
    }

    [Theory]
    [InlineData(BaseQuantization.Nf4, 0.25)]
    [InlineData(BaseQuantization.Int8, 0.03)]
    public void Quantized_model_logits_stay_close_to_full_precision(BaseQuantization scheme, double maxRelativeNormError)
    {
        var folder = ModelTestSupport.FixtureFolder("rotary025-parallel");
        using var full = HuggingFaceModelLoader.Load(folder);
        using var quantized = HuggingFaceModelLoader.Load(folder, quantization: scheme);
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var ids = ModelTestSupport.RandomIds(2, 8, full.VocabularySize, 3);
        var expected = full.Forward(ids, null);
        var actual = quantized.Forward(ids, null);
        double relative = ((actual - expected).norm() / expected.norm()).item<float>();
        Assert.True(relative < maxRelativeNormError, $"{scheme}: relative logit error {relative:F4}");
        Assert.True(relative > 0, "quantization should perturb the logits");
    }

    [Fact]
    public void BaseModelBytes_counts_codes_and_scales_for_the_quantized_linears()
    {
        var config = ModelTestSupport.TinyConfig();
        using var full = new GptNeoXForCausalLM(config);
        using var nf4 = new GptNeoXForCausalLM(config, quantization: BaseQuantization.Nf4);
        using var int8 = new GptNeoXForCausalLM(config, quantization: BaseQuantization.Int8);
        nf4.InitializeRandom(1);
        int8.InitializeRandom(1);
        // Quantized: the four linears of each layer; embed_in, embed_out, norms and biases stay float32.
        long linear = config.NumHiddenLayers * ((3L * 32 * 32) + (32 * 32) + (64 * 32) + (32 * 64));
        long rows = config.NumHiddenLayers * ((3L * 32) + 32 + 64 + 32);
        Assert.Equal(full.BaseModelBytes() - (linear * 4) + (linear / 2) + (linear / 64 * 4), nf4.BaseModelBytes());
        Assert.Equal(full.BaseModelBytes() - (linear * 4) + linear + (rows * 4), int8.BaseModelBytes());
    }

    [Fact]
    public void LoRA_trains_on_top_of_an_NF4_base()
    {
        using var model = new GptNeoXForCausalLM(ModelTestSupport.TinyConfig(), quantization: BaseQuantization.Nf4);
        model.InitializeRandom(4);
        LoraInjector.Apply(model, new FedTune.Core.Adapters.LoraAdapterConfig { R = 4, LoraAlpha = 8 }, seed: 1);
        model.SetTraining(true);
        var optimizer = torch.optim.AdamW(model.AdapterParameters.Values, lr: 0.05);
        var ids = ModelTestSupport.RandomIds(2, 8, model.VocabularySize, 2);
        double first = 0, last = 0;
        for (int step = 0; step < 15; step++)
        {
            using var scope = torch.NewDisposeScope();
            optimizer.zero_grad();
            var logits = model.Forward(ids, null);
            var loss = nn.functional.cross_entropy(logits.narrow(1, 0, 7).reshape(-1, model.VocabularySize), ids.narrow(1, 1, 7).reshape(-1));
            loss.backward();
            optimizer.step();
            if (step == 0) first = loss.item<float>();
            last = loss.item<float>();
        }

        Assert.True(last < first * 0.8, $"loss went from {first} to {last}");
    }

    [Fact]
    public void A_fixed_short_LoRA_run_on_an_NF4_or_int8_base_ends_near_the_full_precision_loss()
    {
        var folder = ModelTestSupport.FixtureFolder("rotary025-parallel");
        var ids = ModelTestSupport.RandomIds(4, 16, 61, 8);
        double Train(BaseQuantization scheme)
        {
            using var model = HuggingFaceModelLoader.Load(folder, quantization: scheme);
            LoraInjector.Apply(model, new FedTune.Core.Adapters.LoraAdapterConfig { R = 4, LoraAlpha = 8, TargetModules = ["query_key_value", "dense_4h_to_h"] }, seed: 1);
            model.SetTraining(true);
            var optimizer = torch.optim.AdamW(model.AdapterParameters.Values, lr: 0.01);
            double loss = 0;
            for (int step = 0; step < 20; step++)
            {
                using var scope = torch.NewDisposeScope();
                optimizer.zero_grad();
                var logits = model.Forward(ids, null);
                var value = nn.functional.cross_entropy(logits.narrow(1, 0, 15).reshape(-1, 61), ids.narrow(1, 1, 15).reshape(-1));
                value.backward();
                optimizer.step();
                loss = value.item<float>();
            }

            return loss;
        }

        double full = Train(BaseQuantization.None), nf4 = Train(BaseQuantization.Nf4), int8 = Train(BaseQuantization.Int8);
        output.WriteLine($"loss after 20 LoRA steps: fp32 {full:F4}, int8 {int8:F4} ({int8 - full:+0.0000;-0.0000}), nf4 {nf4:F4} ({nf4 - full:+0.0000;-0.0000})");
        Assert.True(Math.Abs(int8 - full) < 0.02 * full, $"int8 {int8} vs fp32 {full}");
        Assert.True(Math.Abs(nf4 - full) < 0.1 * full, $"nf4 {nf4} vs fp32 {full}");
    }
}
