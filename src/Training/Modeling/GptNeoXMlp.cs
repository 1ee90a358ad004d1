using FedTune.Core.Configuration;
using FedTune.Training.Quantization;
using TorchSharp;
using static TorchSharp.torch;

namespace FedTune.Training.Modeling;

/// <summary>GPT-NeoX MLP: dense_4h_to_h(act(dense_h_to_4h(x))).</summary>
public sealed class GptNeoXMlp : nn.Module<Tensor, Tensor>
{
    private readonly AdaptableLinear _up;
    private readonly AdaptableLinear _down;
    private readonly ActivationKind _activation;

    public GptNeoXMlp(GptNeoXConfig config, BaseQuantization storage, Device device, ScalarType dtype)
        : base("GPTNeoXMLP")
    {
        _activation = config.Activation;
        _up = new AdaptableLinear("dense_h_to_4h", config.HiddenSize, config.IntermediateSize, true, storage, device, dtype);
        _down = new AdaptableLinear("dense_4h_to_h", config.IntermediateSize, config.HiddenSize, true, storage, device, dtype);
        register_module("dense_h_to_4h", _up);
        register_module("dense_4h_to_h", _down);
    }

    public AdaptableLinear DenseHTo4H => _up;
    public AdaptableLinear Dense4HToH => _down;

    public override Tensor forward(Tensor input)
    {
        using var scope = torch.NewDisposeScope();
        var hidden = _up.forward(input);
        hidden = _activation switch
        {
            ActivationKind.GeluExact => nn.functional.gelu(hidden),
            ActivationKind.GeluTanh => GeluTanh(hidden),
            _ => nn.functional.relu(hidden),
        };
        return _down.forward(hidden).MoveToOuterDisposeScope();
    }

    private static Tensor GeluTanh(Tensor x) =>
        0.5 * x * (1.0 + torch.tanh(Math.Sqrt(2.0 / Math.PI) * (x + (0.044715 * torch.pow(x, 3.0)))));
}
