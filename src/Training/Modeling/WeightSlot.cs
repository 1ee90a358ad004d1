using static TorchSharp.torch;

namespace FedTune.Training.Modeling;

/// <summary>
/// One Hugging Face state-dict entry of a model: its expected shape, how to copy a loaded tensor into it, and how to
/// read it back in full precision (dequantized, LoRA not included) for saving.
/// </summary>
public sealed record WeightSlot(string Name, long[] Shape, Action<Tensor> Load, Func<Tensor> Read);
