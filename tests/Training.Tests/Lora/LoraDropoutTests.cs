using System.Runtime.InteropServices;
using FedTune.Training.Lora;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FedTune.Training.Tests.Lora;

public sealed class LoraDropoutTests
{
    [Fact]
    public void Training_drops_a_fraction_p_of_the_values_and_scales_the_rest_by_one_over_one_minus_p()
    {
        using var scope = torch.NewDisposeScope();
        var input = torch.rand([2, 512, 512], generator: new Generator(1)) + 1; // no zeros of its own
        torch.random.manual_seed(7);

        var output = LoraDropout.Apply(input, 0.075, training: true);

        var dropped = output.eq(0);
        double fraction = dropped.to(ScalarType.Float64).mean().item<double>();
        Assert.InRange(fraction, 0.075 - 0.003, 0.075 + 0.003); // 524,288 values: one standard deviation is 0.00036
        var kept = dropped.logical_not();
        Assert.True(Same(output.masked_select(kept), input.masked_select(kept) * (float)(1 / (1 - 0.075))), "kept values are not input / (1 - p)");
    }

    [Fact]
    public void The_same_torch_seed_gives_the_same_mask_and_the_next_draw_another()
    {
        using var scope = torch.NewDisposeScope();
        var input = torch.ones([3, 100, 64]);

        torch.random.manual_seed(11);
        var first = LoraDropout.Apply(input, 0.3, training: true);
        var second = LoraDropout.Apply(input, 0.3, training: true);
        torch.random.manual_seed(11);
        var again = LoraDropout.Apply(input, 0.3, training: true);

        Assert.True(Same(first, again), "the same seed gave another mask (checkpointed recomputation would differ from the forward)");
        Assert.False(Same(first, second), "two draws gave the same mask");
    }

    [Fact]
    public void Evaluation_and_p_zero_leave_the_input_as_it_is_and_the_gradient_flows_through_kept_values()
    {
        using var scope = torch.NewDisposeScope();
        var input = torch.ones([4, 40], requires_grad: true);
        Assert.Same(input, LoraDropout.Apply(input, 0.5, training: false));
        Assert.Same(input, LoraDropout.Apply(input, 0, training: true));

        var output = LoraDropout.Apply(input, 0.5, training: true);
        output.sum().backward();

        Assert.True(Same(input.grad!, output.detach()), "the gradient is not the mask (0 or 1 / (1 - p)) times the upstream ones");
    }

    [Fact]
    public void A_training_LoRA_branch_drops_its_input_with_this_mask()
    {
        using var scope = torch.NewDisposeScope();
        using var layer = new FedTune.Training.Modeling.AdaptableLinear("query_key_value", 32, 48, true, FedTune.Core.Configuration.BaseQuantization.None, CPU, ScalarType.Float32);
        layer.LoadWeight(torch.randn([48, 32], generator: new Generator(2)));
        layer.AttachLora(4, 2.0, 0.2, initialA: null, trainableA: true);
        using (torch.no_grad()) layer.LoraB!.copy_(torch.randn([48, 4], generator: new Generator(3)));
        layer.train();
        var input = torch.randn([2, 16, 32], generator: new Generator(4));

        torch.random.manual_seed(21);
        var output = layer.forward(input);
        torch.random.manual_seed(21);
        var dropped = LoraDropout.Apply(input, 0.2, training: true);
        var expected = nn.functional.linear(input, layer.BaseWeight(), layer.Bias) + (dropped.matmul(layer.LoraA!.t()).matmul(layer.LoraB!.t()) * 2.0);

        Assert.True(output.allclose(expected, rtol: 1e-5, atol: 1e-5), "the LoRA branch did not drop its input with LoraDropout's mask");
    }

    private static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    [Fact]
    public void The_vectorized_mask_equals_the_scalar_generator_value_for_value()
    {
        var mask = new float[1000 + 7]; // not a multiple of the 16 values a vector step writes
        LoraDropout.Fill(mask, seed: 12345, keep: 0.9);

        var reference = new float[mask.Length];
        for (int i = 0; i < reference.Length; i++)
        {
            ulong z = 12345UL + ((ulong)i * 0x9E3779B97F4A7C15UL);
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            z ^= z >> 31;
            reference[i] = (z >> 40) < (uint)Math.Round(0.9 * (1 << 24)) ? (float)(1 / 0.9) : 0f;
        }

        Assert.Equal(reference, mask);
        Assert.Contains(0f, mask);
    }
}
