namespace FedTune.Training.Modeling;

/// <summary>One entry of a Hugging Face state dict: its key and shape.</summary>
public sealed record StateDictEntry(string Name, long[] Shape)
{
    public override string ToString() => $"{Name} [{string.Join(", ", Shape)}]";
}

/// <summary>
/// The state-dict keys and shapes Hugging Face's <c>GPTNeoXForCausalLM</c> has for a configuration (parameters only;
/// the buffers attention.bias, attention.masked_bias and rotary_emb.inv_freq some checkpoints carry are not weights).
/// </summary>
public static class GptNeoXStateDictLayout
{
    public static IReadOnlyList<StateDictEntry> Describe(GptNeoXConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        long h = config.HiddenSize, v = config.VocabSize, i = config.IntermediateSize;
        var entries = new List<StateDictEntry> { new("gpt_neox.embed_in.weight", [v, h]) };
        for (int layer = 0; layer < config.NumHiddenLayers; layer++)
        {
            var p = $"gpt_neox.layers.{layer}.";
            entries.Add(new(p + "input_layernorm.weight", [h]));
            entries.Add(new(p + "input_layernorm.bias", [h]));
            entries.Add(new(p + "post_attention_layernorm.weight", [h]));
            entries.Add(new(p + "post_attention_layernorm.bias", [h]));
            entries.Add(new(p + "attention.query_key_value.weight", [3 * h, h]));
            if (config.AttentionBias) entries.Add(new(p + "attention.query_key_value.bias", [3 * h]));
            entries.Add(new(p + "attention.dense.weight", [h, h]));
            if (config.AttentionBias) entries.Add(new(p + "attention.dense.bias", [h]));
            entries.Add(new(p + "mlp.dense_h_to_4h.weight", [i, h]));
            entries.Add(new(p + "mlp.dense_h_to_4h.bias", [i]));
            entries.Add(new(p + "mlp.dense_4h_to_h.weight", [h, i]));
            entries.Add(new(p + "mlp.dense_4h_to_h.bias", [h]));
        }

        entries.Add(new("gpt_neox.final_layer_norm.weight", [h]));
        entries.Add(new("gpt_neox.final_layer_norm.bias", [h]));
        if (!config.TieWordEmbeddings) entries.Add(new("embed_out.weight", [v, h]));
        return entries;
    }

    /// <summary>True for keys Hugging Face checkpoints carry that are buffers, not weights, and are ignored on load.</summary>
    public static bool IsIgnoredBuffer(string name) =>
        name.EndsWith(".attention.bias", StringComparison.Ordinal)
        || name.EndsWith(".attention.masked_bias", StringComparison.Ordinal)
        || name.EndsWith(".rotary_emb.inv_freq", StringComparison.Ordinal)
        || name == "gpt_neox.rotary_emb.inv_freq";
}
