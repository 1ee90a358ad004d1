using FedTune.Core.Adapters;

namespace FedTune.Core.Tests.Adapters;

/// <summary>Small GPT-NeoX-shaped LoRA adapters with PEFT's names, for tests.</summary>
internal static class AdapterSamples
{
    public static LoraAdapterConfig Config(int r = 2) => new()
    {
        R = r,
        LoraAlpha = 4,
        LoraDropout = 0.05,
        TargetModules = ["query_key_value"],
        BaseModelNameOrPath = "EleutherAI/pythia-70m",
    };

    /// <summary>An adapter for <paramref name="layers"/> layers with A [r, in] and B [out, r] filled from a seed.</summary>
    public static LoraAdapter Create(int layers = 2, int r = 2, int inFeatures = 4, int outFeatures = 6, int seed = 1)
    {
        var random = new Random(seed);
        var tensors = new List<LoraTensor>();
        for (var layer = 0; layer < layers; layer++)
        {
            tensors.Add(new LoraTensor(PeftKeys.GptNeoXLoraA(layer), [r, inFeatures], Values(random, r * inFeatures)));
            tensors.Add(new LoraTensor(PeftKeys.GptNeoXLoraB(layer), [outFeatures, r], Values(random, outFeatures * r)));
        }

        return new LoraAdapter(Config(r), tensors);
    }

    public static float[] Values(Random random, int count) =>
        Enumerable.Range(0, count).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
}
