using TorchSharp;
using static TorchSharp.torch;

namespace FedTune.Training.Modeling;

/// <summary>
/// What the trainer, evaluator and privacy audits need from a causal language model with LoRA adapters.
/// Implemented by the GPT-NeoX model; the contract keeps the trainer independent of one architecture.
/// </summary>
public interface ICausalLanguageModel : IDisposable
{
    /// <summary>Vocabulary size (the last dimension of the logits).</summary>
    long VocabularySize { get; }

    /// <summary>Longest sequence the model accepts (max_position_embeddings).</summary>
    long MaxSequenceLength { get; }

    /// <summary>
    /// Logits for every position: <paramref name="inputIds"/> is [batch, time] int64; <paramref name="attentionMask"/>
    /// is [batch, time] with 1 for real tokens and 0 for padding (left or right), or null when nothing is padded.
    /// Returns [batch, time, vocabulary] float32.
    /// </summary>
    Tensor Forward(Tensor inputIds, Tensor? attentionMask);

    /// <summary>
    /// The causal-LM loss of a batch: the sum of token NLLs (<see cref="Data.CausalLmLoss.SumNll"/> of the
    /// <see cref="Forward(Tensor, Tensor?)"/> logits), differentiable for the adapter. A model may compute it without
    /// the full logits, as long as the value and gradients stay the same.
    /// </summary>
    Tensor SumNll(Tensor inputIds, Tensor? attentionMask, Tensor labels) =>
        Data.CausalLmLoss.SumNll(Forward(inputIds, attentionMask), labels);

    /// <summary>
    /// Logits [N, vocabulary] float32 at <paramref name="positions"/> (int64 indices into the flattened [batch × time]
    /// positions): the rows of <see cref="Forward(Tensor, Tensor?)"/>'s logits, which a model may compute without the others.
    /// </summary>
    Tensor LogitsAt(Tensor inputIds, Tensor? attentionMask, Tensor positions) =>
        Forward(inputIds, attentionMask).reshape(-1, VocabularySize).index_select(0, positions);

    /// <summary>
    /// The rows of <see cref="LogitsAt"/> handed to <paramref name="consume"/> <paramref name="chunkRows"/> at a time
    /// (with the index of each chunk's first row), inside a dispose scope of their own: a model may run the layers once
    /// and project each chunk through the output layer only when it is consumed, so the [N, vocabulary] logits are never
    /// held whole. A chunk is valid only during its call.
    /// </summary>
    void ConsumeLogitsAt(Tensor inputIds, Tensor? attentionMask, Tensor positions, long chunkRows, Action<long, Tensor> consume)
    {
        ArgumentNullException.ThrowIfNull(positions);
        ArgumentNullException.ThrowIfNull(consume);
        using var scope = torch.NewDisposeScope();
        var logits = LogitsAt(inputIds, attentionMask, positions);
        for (long from = 0; from < logits.shape[0]; from += chunkRows)
        {
            using var chunkScope = torch.NewDisposeScope();
            consume(from, logits.narrow(0, from, Math.Min(chunkRows, logits.shape[0] - from)));
        }
    }

    /// <summary>
    /// The trainable adapter parameters, keyed by their PEFT state-dict names
    /// (for GPT-NeoX: <c>base_model.model.gpt_neox.layers.N.attention.query_key_value.lora_A.weight</c>).
    /// Only these receive gradients; the base model is frozen.
    /// </summary>
    IReadOnlyDictionary<string, TorchSharp.Modules.Parameter> AdapterParameters { get; }

    /// <summary>Switches dropout (LoRA dropout included) on for training or off for evaluation.</summary>
    void SetTraining(bool training);

    /// <summary>The device the model's tensors live on.</summary>
    Device Device { get; }
}
