using FedTune.Core.Adapters;
using FedTune.Training.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace FedTune.Training.Lora;

/// <summary>Moves LoRA weights between a model and the PEFT-format <see cref="LoraAdapter"/> of FedTune.Core.</summary>
public static class LoraAdapterExchange
{
    /// <summary>
    /// Every LoRA weight of <paramref name="model"/> (A and B, frozen or not) under PEFT names, e.g.
    /// <c>base_model.model.gpt_neox.layers.0.attention.query_key_value.lora_A.weight</c> [r, in].
    /// </summary>
    public static LoraAdapter Export(GptNeoXForCausalLM model, LoraAdapterConfig config)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(config);
        var tensors = new List<LoraTensor>();
        foreach (var (name, parameter) in model.AllAdapterWeights())
        {
            using var scope = torch.NewDisposeScope();
            var data = parameter.detach().to(ScalarType.Float32).cpu().contiguous().data<float>().ToArray();
            tensors.Add(new LoraTensor(name, parameter.shape, data));
        }

        if (tensors.Count == 0)
            throw new InvalidOperationException("The model has no LoRA adapters to export; attach them with LoraInjector.Apply first.");
        return new LoraAdapter(config, tensors, "model");
    }

    /// <summary>
    /// Copies the adapter's weights into the model's LoRA parameters. Every model adapter weight must be present with its
    /// shape, and the adapter may carry no module the model lacks; errors name the tensor.
    /// </summary>
    public static void Import(GptNeoXForCausalLM model, LoraAdapter adapter)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(adapter);
        var weights = model.AllAdapterWeights().ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        var extra = adapter.Names.Select(PeftKeys.Normalize).Where(n => !weights.ContainsKey(n)).ToList();
        if (extra.Count > 0)
            throw new InvalidDataException(
                $"The adapter has {extra.Count} tensor(s) the model has no LoRA for, e.g. {string.Join(", ", extra.Take(3))}; " +
                "attach LoRA with the adapter's own target_modules (LoraAdapterExchange.Attach).");
        var byName = adapter.Tensors.ToDictionary(t => PeftKeys.Normalize(t.Name), StringComparer.Ordinal);
        foreach (var (name, parameter) in weights)
        {
            if (!byName.TryGetValue(name, out var tensor))
                throw new InvalidDataException($"The adapter lacks '{name}' (shape [{string.Join(", ", parameter.shape)}]).");
            if (!tensor.Shape.SequenceEqual(parameter.shape))
                throw new InvalidDataException(
                    $"Adapter tensor '{name}' has shape [{string.Join(", ", tensor.Shape)}] but the model expects [{string.Join(", ", parameter.shape)}].");
            using var scope = torch.NewDisposeScope();
            using var noGrad = torch.no_grad();
            parameter.copy_(torch.tensor(tensor.Data, tensor.Shape).to(parameter.dtype, parameter.device));
        }
    }

    /// <summary>
    /// Attaches LoRA on exactly the modules the adapter carries (with its r, alpha and dropout) and loads its weights:
    /// what eval and generate do with <c>--adapter</c>. With <paramref name="freezeA"/> (FFA-LoRA) every A keeps the
    /// adapter's values and does not train: only B is a parameter of the optimizer.
    /// </summary>
    public static void Attach(GptNeoXForCausalLM model, LoraAdapter adapter, bool freezeA = false)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(adapter);
        var modules = adapter.LoraModules
            .Select(m => m.StartsWith(GptNeoXForCausalLM.PeftPrefix, StringComparison.Ordinal) ? m[GptNeoXForCausalLM.PeftPrefix.Length..] : m)
            .ToList();
        var config = adapter.Config with { TargetModules = modules, TargetModulesPattern = null, LayersToTransform = null };
        LoraInjector.Apply(model, config, seed: 0, freezeA: freezeA);
        Import(model, adapter);
    }

    /// <summary>Folds every LoRA delta into its full-precision base weight.</summary>
    public static void MergeAll(GptNeoXForCausalLM model)
    {
        ArgumentNullException.ThrowIfNull(model);
        foreach (var (_, linear) in model.LinearLayers()) linear.Merge();
    }

    /// <summary>Undoes <see cref="MergeAll"/>.</summary>
    public static void UnmergeAll(GptNeoXForCausalLM model)
    {
        ArgumentNullException.ThrowIfNull(model);
        foreach (var (_, linear) in model.LinearLayers()) linear.Unmerge();
    }
}
