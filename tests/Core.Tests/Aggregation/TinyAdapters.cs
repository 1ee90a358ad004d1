using FedTune.Core.Adapters;
using FedTune.Core.Aggregation;
using FedTune.Core.Configuration;

namespace FedTune.Core.Tests.Aggregation;

/// <summary>
/// A one-module adapter with r = 1, A [1, 2] and B [2, 1]: four parameters laid out as [a0, a1, b0, b1],
/// small enough to compute every strategy by hand.
/// </summary>
internal static class TinyAdapters
{
    public static LoraAdapterConfig Config => new() { R = 1, LoraAlpha = 2, TargetModules = ["query_key_value"] };

    public static LoraAdapter Of(params float[] flat) => new(Config,
    [
        new LoraTensor(PeftKeys.GptNeoXLoraA(0), [1, 2], flat[..2]),
        new LoraTensor(PeftKeys.GptNeoXLoraB(0), [2, 1], flat[2..]),
    ]);

    public static float[] Flat(LoraAdapter adapter) =>
        [.. adapter[PeftKeys.GptNeoXLoraA(0)].Data, .. adapter[PeftKeys.GptNeoXLoraB(0)].Data];

    public static ClientUpdate Wire(string id, double examples, LoraAdapter adapter)
    {
        var bytes = AdapterWireFormat.ToBytes(adapter);
        return ClientUpdate.FromWire(id, examples, () => new MemoryStream(bytes, writable: false), AdapterHash.Sha256(bytes));
    }

    public static StreamingAggregator Aggregator(StrategyConfig strategy, DifferentialPrivacyConfig? dp = null, double maxNormRatio = 1e6, GaussianNoise? noise = null) =>
        new(AggregationStrategy.Create(strategy, dp, noise ?? GaussianNoise.Seeded(1)), new UpdateValidator(new UpdateValidationConfig { MaxNormRatio = maxNormRatio }), dp);

    public static RoundContext Round(int clients, int round = 1) => new(round, clients, clients, 1);
}
