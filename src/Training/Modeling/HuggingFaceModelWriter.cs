using FedTune.Core.Formats;
using TorchSharp;
using static TorchSharp.torch;

namespace FedTune.Training.Modeling;

/// <summary>
/// Saves a model in Hugging Face layout (config.json, model.safetensors in float32, tokenizer.json) so that
/// <see cref="HuggingFaceModelLoader"/> and transformers read it back. Quantized weights are written dequantized.
/// </summary>
public static class HuggingFaceModelWriter
{
    public const string TokenizerFile = "tokenizer.json";

    /// <summary>
    /// Writes the folder. With <paramref name="mergeLora"/> every attached LoRA delta (B·A·alpha/r) is added to its base
    /// weight in the file (the merged export); otherwise the base weights are written as they are.
    /// <paramref name="tokenizerJson"/> (the text of a tokenizer.json) is written when given.
    /// </summary>
    public static void Save(GptNeoXForCausalLM model, string folder, string? tokenizerJson = null, bool mergeLora = false)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(folder);
        Directory.CreateDirectory(folder);
        var linears = model.LinearLayers().ToDictionary(l => l.Key + ".weight", l => l.Value, StringComparer.Ordinal);
        var tensors = new List<SafetensorsTensor>();
        foreach (var slot in model.WeightSlots())
        {
            using var scope = torch.NewDisposeScope();
            using var noGrad = torch.no_grad();
            var value = slot.Read().to(ScalarType.Float32);
            if (mergeLora && linears.TryGetValue(slot.Name, out var linear) && linear.HasLora && !linear.IsMerged)
                value = value + linear.LoraDelta().to(value.device);
            var data = value.cpu().contiguous().data<float>().ToArray();
            tensors.Add(SafetensorsTensor.FromFloat32(slot.Name, slot.Shape, data));
        }

        var weightsPath = Path.Combine(folder, HuggingFaceModelLoader.SafetensorsFile);
        var temporary = weightsPath + ".tmp";
        SafetensorsWriter.Write(temporary, tensors, new Dictionary<string, string> { ["format"] = "pt" });
        File.Move(temporary, weightsPath, overwrite: true);
        File.WriteAllText(Path.Combine(folder, "config.json"), model.Config.ToJson());
        if (tokenizerJson is not null)
            File.WriteAllText(Path.Combine(folder, TokenizerFile), tokenizerJson);
    }
}
