using FedTune.Core.Adapters;
using FedTune.Training.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace FedTune.Training.Lora;

/// <summary>
/// Adds LoRA branches to a model the way PEFT's <c>get_peft_model</c> does: target_modules (null → the architecture's
/// default, <c>query_key_value</c> for GPT-NeoX) matched as exact names or dotted-name suffixes, or target_modules_pattern
/// as a full-match regex; A kaiming-uniform(a=√5) i.e. U(−1/√in, 1/√in), B zeros, scaling alpha/r (alpha/√r with rsLoRA);
/// only the adapters train.
/// </summary>
public static class LoraInjector
{
    /// <summary>PEFT's default target for GPT-NeoX.</summary>
    public static readonly IReadOnlyList<string> GptNeoXDefaultTargets = LoraTargets.GptNeoXDefault;

    /// <summary>
    /// Attaches LoRA to every matching Linear of <paramref name="model"/> and returns the module names wrapped.
    /// A is drawn from <paramref name="seed"/>; with <paramref name="freezeA"/>, A is drawn from
    /// <paramref name="sharedASeed"/> (identical on every client) and is not trainable.
    /// </summary>
    public static IReadOnlyList<string> Apply(GptNeoXForCausalLM model, LoraAdapterConfig config, long seed, bool freezeA = false, long sharedASeed = 0)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(config);
        CheckSupported(config);
        var candidates = model.LinearLayers();
        var targets = candidates.Where(c => Matches(c.Key, config)).ToList();
        if (targets.Count == 0)
            throw new ArgumentException(
                $"LoRA target_modules {Describe(config)} match no Linear layer of the model; GPT-NeoX has " +
                "query_key_value, dense, dense_h_to_4h, dense_4h_to_h and embed_out.", nameof(config));
        if (targets.Any(t => t.Value.HasLora))
            throw new InvalidOperationException("The model already has LoRA adapters attached.");

        var generator = new Generator((ulong)(freezeA ? sharedASeed : seed));
        foreach (var (_, linear) in targets)
        {
            using var scope = torch.NewDisposeScope();
            double bound = 1.0 / Math.Sqrt(linear.InFeatures);
            var initialA = (torch.rand([config.R, linear.InFeatures], generator: generator) * (2 * bound)) - bound;
            linear.AttachLora(config.R, config.Scaling, config.LoraDropout, initialA, trainableA: !freezeA);
        }

        return targets.Select(t => t.Key).ToList();
    }

    /// <summary>PEFT's matching (<see cref="LoraTargets.Matches"/>).</summary>
    public static bool Matches(string moduleName, LoraAdapterConfig config) => LoraTargets.Matches(moduleName, config);

    private static void CheckSupported(LoraAdapterConfig config)
    {
        var problems = config.Validate().ToList();
        if (config.UseDora) problems.Add("use_dora is true; DoRA is not supported.");
        if (config.FanInFanOut) problems.Add("fan_in_fan_out is true; GPT-NeoX Linear weights are [out, in], set it to false.");
        if (config.Bias != "none") problems.Add($"bias is '{config.Bias}'; only 'none' (frozen biases) is supported.");
        if (config.ModulesToSave is { Count: > 0 }) problems.Add("modules_to_save is not supported; leave it null.");
        if (!string.Equals(config.InitLoraWeights, "true", StringComparison.OrdinalIgnoreCase))
            problems.Add($"init_lora_weights '{config.InitLoraWeights}' is not supported; only the default (true: kaiming-uniform A, zero B).");
        if (problems.Count > 0)
            throw new ArgumentException("Unsupported LoRA configuration: " + string.Join(" ", problems), nameof(config));
    }

    private static string Describe(LoraAdapterConfig config) => LoraTargets.Describe(config);
}
