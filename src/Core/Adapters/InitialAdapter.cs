using FedTune.Core.Randomness;

namespace FedTune.Core.Adapters;

/// <summary>
/// The round-0 global adapter, created by the orchestrator from the recipe's LoRA settings and the base model's
/// shapes, as PEFT initialises LoRA: A kaiming-uniform(a=√5), i.e. U(−1/√in, 1/√in), B zeros; so the product BA is
/// zero and the first round starts from the base model, like every later round starts from the previous global.
/// The values come from a SplitMix64 stream seeded by the run (the same on every machine and runtime), not from
/// libtorch's generator: the distribution is PEFT's, the numbers are this project's.
/// </summary>
public static class InitialAdapter
{
    /// <summary>The PEFT key prefix of every tensor (<c>base_model.model.</c>).</summary>
    public const string PeftPrefix = "base_model.model.";

    public static LoraAdapter Create(BaseModelShape shape, LoraAdapterConfig config, long seed)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(config);
        var problems = config.Validate().ToList();
        if (problems.Count > 0) throw new ArgumentException("The recipe's LoRA settings are invalid: " + string.Join(" ", problems), nameof(config));
        var targets = shape.LinearModules().Where(m => LoraTargets.Matches(m.Name, config)).ToList();
        if (targets.Count == 0)
        {
            throw new ArgumentException(
                $"LoRA target_modules {LoraTargets.Describe(config)} match no Linear layer of the base model; GPT-NeoX has " +
                "query_key_value, dense, dense_h_to_4h, dense_4h_to_h and embed_out. Fix: name one of them in model.lora.target_modules.", nameof(config));
        }

        var random = new SplitMix64(SplitMix64.Mix(seed, 0x4C6F5241)); // "LoRA"
        var tensors = new List<LoraTensor>(targets.Count * 2);
        foreach (var module in targets)
        {
            var a = new float[(long)config.R * module.InFeatures];
            double bound = 1.0 / Math.Sqrt(module.InFeatures);
            for (long i = 0; i < a.LongLength; i++)
            {
                double unit = (random.Next() >> 11) * (1.0 / (1UL << 53)); // [0, 1)
                a[i] = (float)((unit * 2 - 1) * bound);
            }
            tensors.Add(new LoraTensor(PeftPrefix + module.Name + PeftKeys.LoraASuffix, [config.R, module.InFeatures], a));
            tensors.Add(new LoraTensor(PeftPrefix + module.Name + PeftKeys.LoraBSuffix, [module.OutFeatures, config.R], new float[(long)module.OutFeatures * config.R]));
        }
        return new LoraAdapter(config, tensors, "initial adapter");
    }

    /// <summary>
    /// Checks an adapter (an upload or an imported checkpoint) against the recipe and the base model: rank, alpha,
    /// exactly the target modules' tensors, each with the shape the base model gives it. Null when it fits.
    /// </summary>
    public static string? Mismatch(LoraAdapterConfig actual, IEnumerable<(string Name, long[] Shape)> tensors, BaseModelShape shape, LoraAdapterConfig recipe)
    {
        ArgumentNullException.ThrowIfNull(actual);
        ArgumentNullException.ThrowIfNull(tensors);
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(recipe);
        if (actual.R != recipe.R) return $"its LoRA rank is {actual.R} but the run's recipe says r = {recipe.R}.";
        if (Math.Abs(actual.LoraAlpha - recipe.LoraAlpha) > 1e-9) return $"its lora_alpha is {actual.LoraAlpha} but the run's recipe says {recipe.LoraAlpha}.";
        var expected = new Dictionary<string, long[]>(StringComparer.Ordinal);
        foreach (var module in shape.LinearModules().Where(m => LoraTargets.Matches(m.Name, recipe)))
        {
            expected[PeftPrefix + module.Name + PeftKeys.LoraASuffix] = [recipe.R, module.InFeatures];
            expected[PeftPrefix + module.Name + PeftKeys.LoraBSuffix] = [module.OutFeatures, recipe.R];
        }
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, tensorShape) in tensors)
        {
            var key = PeftKeys.Normalize(name);
            if (!expected.TryGetValue(key, out var want))
            {
                return $"tensor '{name}' is not a LoRA weight of the recipe's target modules {LoraTargets.Describe(recipe)} on this base model.";
            }
            if (!tensorShape.AsSpan().SequenceEqual(want))
            {
                return $"tensor '{name}' has shape [{string.Join(", ", tensorShape)}] but the recipe and base model give [{string.Join(", ", want)}].";
            }
            seen.Add(key);
        }
        var missing = expected.Keys.FirstOrDefault(k => !seen.Contains(k));
        return missing is null ? null : $"tensor '{missing}' is missing (the recipe targets {LoraTargets.Describe(recipe)}).";
    }
}
