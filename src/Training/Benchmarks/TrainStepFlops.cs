using FedTune.Training.Modeling;

namespace FedTune.Training.Benchmarks;

/// <summary>
/// Floating-point operations of one LoRA training step of a GPT-NeoX model (multiply-adds count 2), from the shapes:
/// the matmuls of every block (query_key_value, attention scores and values, dense, the MLP), the LoRA branch on
/// query_key_value and the output layer. Elementwise work (norms, softmax, GELU, rotary) is left out: it is under 2%.
/// <see cref="Model"/> is forward plus backward; <see cref="Hardware"/> adds the blocks' recomputation when
/// gradient checkpointing is on: the attention matmuls and the LoRA branch only, since the checkpointed forward keeps
/// the frozen projections' outputs and the recomputation reuses them (<see cref="GptNeoXBackbone.CheckpointKeepsProjections"/>,
/// the trainer's default). The base is frozen, so backward computes input gradients only (and the LoRA
/// weights' gradients); the output layer's backward is one matmul for the hidden states. <see cref="Peer"/> is what
/// the PyTorch peer executes: <c>torch.utils.checkpoint</c> recomputes whole blocks, frozen projections included.
/// </summary>
public sealed record TrainStepFlops(double Model, double Hardware, double Peer)
{
    public static TrainStepFlops For(GptNeoXConfig config, int batch, int seqLength, int loraR, bool checkpointing)
    {
        ArgumentNullException.ThrowIfNull(config);
        double n = (double)batch * seqLength;
        double h = config.HiddenSize, f = config.IntermediateSize, v = config.VocabSize, r = loraR;
        double linear = 2 * n * ((h * 3 * h) + (h * h) + (h * f) + (f * h));
        double attention = 2 * 2 * (double)batch * seqLength * seqLength * h;
        double lora = 2 * n * r * (h + (3 * h));
        double blockForward = linear + attention + lora;
        // Backward: input gradients of the frozen linears (1×), both operands of the two attention matmuls (2×),
        // the LoRA branch's input and weight gradients (2×).
        double blockBackward = linear + (2 * attention) + (2 * lora);
        double blocks = config.NumHiddenLayers * (blockForward + blockBackward);
        double head = 2 * (2 * n * h * v);
        double model = blocks + head;
        double recompute = checkpointing ? config.NumHiddenLayers * (attention + lora) : 0;
        double wholeBlocks = checkpointing ? config.NumHiddenLayers * blockForward : 0;
        return new TrainStepFlops(model, model + recompute, model + wholeBlocks);
    }
}
