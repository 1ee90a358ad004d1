using FedTune.Core.Adapters;
using FedTune.Core.Aggregation;
using FedTune.Core.Configuration;

namespace FedTune.Core.Tests.Aggregation;

public sealed class DpNoiseTests
{
    [Fact]
    public void Dp_noise_on_the_mean_has_std_noise_multiplier_times_clip_over_sampled_clients()
    {
        const int inFeatures = 1024, outFeatures = 1024, r = 16; // 32,768 noisy coordinates
        var global = new LoraAdapter(new LoraAdapterConfig { R = r, LoraAlpha = r },
        [
            new LoraTensor(PeftKeys.GptNeoXLoraA(0), [r, inFeatures], new float[r * inFeatures]),
            new LoraTensor(PeftKeys.GptNeoXLoraB(0), [outFeatures, r], new float[outFeatures * r]),
        ]);
        var dp = new DifferentialPrivacyConfig { ClipNorm = 0.5, NoiseMultiplier = 1.1, Delta = 1e-5 };
        var aggregator = TinyAdapters.Aggregator(StrategyConfig.For(StrategyName.FedAvg), dp, noise: GaussianNoise.Seeded(42));
        ClientUpdate[] updates = [ClientUpdate.FromAdapter("a", 1, () => global, AdapterHash.Sha256(global)), ClientUpdate.FromAdapter("b", 1, () => global, AdapterHash.Sha256(global))];

        var result = aggregator.Aggregate(global, updates, new RoundContext(1, 4, 40, 1));
        var values = result.Global.Tensors.SelectMany(t => t.Data).Select(v => (double)v).ToArray();
        var mean = values.Average();
        var variance = values.Sum(v => (v - mean) * (v - mean)) / (values.Length - 1);
        var expectedStd = 1.1 * 0.5 / 4;

        // Standard error of the sample variance is sqrt(2/n) ≈ 0.8% here; allow 5%.
        Assert.InRange(variance / (expectedStd * expectedStd), 0.95, 1.05);
        Assert.InRange(mean, -5 * expectedStd / Math.Sqrt(values.Length), 5 * expectedStd / Math.Sqrt(values.Length));
        Assert.NotNull(result.Privacy);
        Assert.Equal(0.1, result.Privacy!.SamplingRate, 12);
        Assert.True(result.Privacy.Epsilon > 0);
    }

    [Fact]
    public void Secure_noise_has_unit_variance()
    {
        var values = new float[20_000];
        GaussianNoise.Secure().AddTo(values, 2.0);
        var variance = values.Select(v => (double)v * v).Average();
        Assert.InRange(variance / 4.0, 0.95, 1.05);
    }
}
