using FedTune.Training.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace FedTune.Training.Trainer;

/// <summary>
/// Detached copies of a model's adapter parameters, e.g. the round's global adapter right after it is loaded, for
/// FedProx's proximal term (<see cref="CausalLmTrainer"/>'s <c>globalAdapter</c>) or to measure how far training moved.
/// </summary>
public sealed class AdapterSnapshot : IDisposable
{
    private readonly Dictionary<string, Tensor> _tensors;

    private AdapterSnapshot(Dictionary<string, Tensor> tensors) => _tensors = tensors;

    public IReadOnlyDictionary<string, Tensor> Tensors => _tensors;

    public static AdapterSnapshot Of(ICausalLanguageModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var noGrad = torch.no_grad();
        return new AdapterSnapshot(model.AdapterParameters.ToDictionary(
            p => p.Key, p => p.Value.detach().clone().DetachFromDisposeScope(), StringComparer.Ordinal));
    }

    /// <summary>Σ‖w − snapshot‖² over the model's adapter parameters.</summary>
    public double SquaredDistanceTo(ICausalLanguageModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        double total = 0;
        foreach (var (name, parameter) in model.AdapterParameters)
        {
            total += (parameter - _tensors[name]).to_type(ScalarType.Float64).square().sum().item<double>();
        }

        return total;
    }

    public void Dispose()
    {
        foreach (var tensor in _tensors.Values)
        {
            tensor.Dispose();
        }
    }
}
