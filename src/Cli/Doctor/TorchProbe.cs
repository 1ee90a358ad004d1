using TorchSharp;

namespace FedTune.Cli.Doctor;

/// <summary>A tiny forward and backward pass, to prove libtorch loads and autograd works on this machine.</summary>
internal static class TorchProbe
{
    public static (double Loss, bool Cuda, int Devices) ForwardBackward()
    {
        using var scope = torch.NewDisposeScope();
        var layer = torch.nn.Linear(8, 1);
        var x = torch.ones(4, 8);
        var loss = layer.forward(x).pow(2).mean();
        loss.backward();
        var grad = layer.weight!.grad ?? throw new InvalidOperationException("no gradient after backward()");
        if (!double.IsFinite(grad.abs().sum().item<float>())) throw new InvalidOperationException("non-finite gradient");
        bool cuda = torch.cuda.is_available();
        return (loss.item<float>(), cuda, cuda ? torch.cuda.device_count() : 0);
    }
}
