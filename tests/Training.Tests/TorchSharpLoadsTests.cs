using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FedTune.Training.Tests;

public sealed class TorchSharpLoadsTests
{
    [Fact]
    public void Native_libtorch_loads_and_a_tiny_module_trains()
    {
        torch.random.manual_seed(1);
        using var scope = torch.NewDisposeScope();
        var model = nn.Linear(4, 1);
        var optimizer = optim.SGD(model.parameters(), 0.1);
        var x = torch.randn(64, 4);
        var y = x.sum(1, keepdim: true);
        double first = 0, last = 0;
        for (int step = 0; step < 50; step++)
        {
            using var stepScope = torch.NewDisposeScope();
            optimizer.zero_grad();
            var loss = nn.functional.mse_loss(model.forward(x), y);
            loss.backward();
            optimizer.step();
            if (step == 0) first = loss.item<float>();
            last = loss.item<float>();
        }
        Assert.True(last < first / 10, $"loss went from {first} to {last}: backward/step did not train");
    }
}
