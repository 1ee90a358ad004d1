using FedTune.Training.Trainer;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace FedTune.Training.Tests.Trainer;

public sealed class AdamWTests
{
    [Fact]
    public void Step_matches_torch_optim_AdamW_with_explicit_weight_decay()
    {
        torch.random.manual_seed(3);
        using var initial = torch.randn(5, 3);
        using var ours = new Parameter(initial.clone());
        using var reference = new Parameter(initial.clone());
        using var adamW = new AdamWOptimizer([KeyValuePair.Create("w", ours)], 0.9, 0.999, 1e-8, weightDecay: 0.1);
        var torchAdamW = optim.AdamW([reference], lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.1);

        for (int step = 0; step < 5; step++)
        {
            using var scope = torch.NewDisposeScope();
            using var target = torch.randn(5, 3);
            adamW.ZeroGrad();
            torchAdamW.zero_grad();
            (ours * target).pow(2).sum().backward();
            (reference * target).pow(2).sum().backward();
            adamW.Step(0.01);
            torchAdamW.step();
        }

        Assert.True(torch.allclose(ours, reference, rtol: 1e-6, atol: 1e-7), "AdamW diverged from torch.optim.AdamW");
        Assert.Equal(5, adamW.StepCount);
    }
}
