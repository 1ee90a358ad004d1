using FedTune.Core.Adapters;

namespace FedTune.Orchestration.TestHost;

/// <summary>Tiny GPT-NeoX-shaped LoRA adapters (2 layers, hidden 4, r = 2 on query_key_value: A [2, 4], B [12, 2]) for protocol tests.</summary>
public static class TestAdapters
{
    /// <summary>The tiny base model these adapters belong to (what a run's plan carries as its base model's shapes).</summary>
    public static BaseModelShape BaseModel { get; } = new()
    {
        HiddenSize = 4,
        IntermediateSize = 8,
        NumHiddenLayers = 2,
        VocabSize = 16,
        TieWordEmbeddings = true,
    };

    public static LoraAdapterConfig Config() => new()
    {
        R = 2,
        LoraAlpha = 4,
        TargetModules = ["query_key_value"],
        BaseModelNameOrPath = "EleutherAI/pythia-70m",
    };

    /// <summary>Every element equal to <paramref name="value"/>.</summary>
    public static LoraAdapter Filled(float value) => FromFunction((_, _) => value);

    public static LoraAdapter FromFunction(Func<string, int, float> value)
    {
        var tensors = new List<LoraTensor>();
        for (int layer = 0; layer < 2; layer++)
        {
            var a = PeftKeys.GptNeoXLoraA(layer);
            var b = PeftKeys.GptNeoXLoraB(layer);
            tensors.Add(new LoraTensor(a, [2, 4], Enumerable.Range(0, 8).Select(i => value(a, i)).ToArray()));
            tensors.Add(new LoraTensor(b, [12, 2], Enumerable.Range(0, 24).Select(i => value(b, i)).ToArray()));
        }
        return new LoraAdapter(Config(), tensors);
    }
}
