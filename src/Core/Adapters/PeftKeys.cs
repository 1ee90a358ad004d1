namespace FedTune.Core.Adapters;

/// <summary>PEFT's tensor key names for LoRA adapters as they appear in <c>adapter_model.safetensors</c>.</summary>
public static class PeftKeys
{
    /// <summary>Suffix of a LoRA "A" (down-projection, shape [r, in]) weight.</summary>
    public const string LoraASuffix = ".lora_A.weight";

    /// <summary>Suffix of a LoRA "B" (up-projection, shape [out, r]) weight.</summary>
    public const string LoraBSuffix = ".lora_B.weight";

    /// <summary>The GPT-NeoX (Pythia) attention projection PEFT targets by default.</summary>
    public const string GptNeoXAttention = "attention.query_key_value";

    /// <summary>The module prefix <c>base_model.model.gpt_neox.layers.N.&lt;module&gt;</c>.</summary>
    public static string GptNeoXModule(int layer, string module = GptNeoXAttention) =>
        $"base_model.model.gpt_neox.layers.{layer}.{module}";

    /// <summary><c>base_model.model.gpt_neox.layers.N.&lt;module&gt;.lora_A.weight</c>.</summary>
    public static string GptNeoXLoraA(int layer, string module = GptNeoXAttention) => GptNeoXModule(layer, module) + LoraASuffix;

    /// <summary><c>base_model.model.gpt_neox.layers.N.&lt;module&gt;.lora_B.weight</c>.</summary>
    public static string GptNeoXLoraB(int layer, string module = GptNeoXAttention) => GptNeoXModule(layer, module) + LoraBSuffix;

    /// <summary>True for a LoRA A key; <paramref name="module"/> is the prefix before <c>.lora_A.weight</c>.</summary>
    public static bool IsLoraA(string key, out string module) => TryStrip(key, LoraASuffix, out module);

    /// <summary>True for a LoRA B key; <paramref name="module"/> is the prefix before <c>.lora_B.weight</c>.</summary>
    public static bool IsLoraB(string key, out string module) => TryStrip(key, LoraBSuffix, out module);

    /// <summary>
    /// PEFT keeps the adapter name in memory (<c>lora_A.default.weight</c>) and strips it when saving;
    /// this maps either spelling to the saved one.
    /// </summary>
    public static string Normalize(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return key.Replace(".lora_A.default.weight", LoraASuffix, StringComparison.Ordinal)
            .Replace(".lora_B.default.weight", LoraBSuffix, StringComparison.Ordinal);
    }

    private static bool TryStrip(string key, string suffix, out string module)
    {
        if (key.EndsWith(suffix, StringComparison.Ordinal))
        {
            module = key[..^suffix.Length];
            return true;
        }

        module = string.Empty;
        return false;
    }
}
