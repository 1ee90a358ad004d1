using TorchSharp;
using static TorchSharp.torch;

namespace FedTune.Training.Data;

/// <summary>Hugging Face's causal-LM loss: logits at position t are scored against the label at t+1; −100 is ignored.</summary>
public static class CausalLmLoss
{
    /// <summary>Sum of token NLLs over scored positions (a scalar tensor, differentiable).</summary>
    public static Tensor SumNll(Tensor logits, Tensor labels)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(labels);
        var vocabulary = logits.shape[^1];
        using var shiftedLogits = logits[.., ..^1, ..].reshape(-1, vocabulary);
        using var shiftedLabels = labels[.., 1..].reshape(-1);
        return nn.functional.cross_entropy(
            shiftedLogits.to_type(ScalarType.Float32), shiftedLabels, ignore_index: TokenizedExample.IgnoreIndex, reduction: nn.Reduction.Sum);
    }
}
