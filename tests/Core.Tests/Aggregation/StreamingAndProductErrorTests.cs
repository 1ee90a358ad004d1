using FedTune.Core.Adapters;
using FedTune.Core.Aggregation;
using FedTune.Core.Configuration;

namespace FedTune.Core.Tests.Aggregation;

public sealed class StreamingAndProductErrorTests
{
    private static LoraAdapter Scalar(float a, float b) => new(new LoraAdapterConfig { R = 1, LoraAlpha = 1 },
    [
        new LoraTensor(PeftKeys.GptNeoXLoraA(0), [1, 1], [a]),
        new LoraTensor(PeftKeys.GptNeoXLoraB(0), [1, 1], [b]),
    ]);

    [Fact]
    public void Product_error_is_mean_of_products_minus_product_of_means()
    {
        // (A, B) = (1, 2) and (3, 4), equal weights: mean(BA) = 7, mean(B)·mean(A) = 3·2 = 6.
        var aggregator = TinyAdapters.Aggregator(StrategyConfig.For(StrategyName.FedAvg));
        ClientUpdate[] updates = [TinyAdapters.Wire("c1", 5, Scalar(1, 2)), TinyAdapters.Wire("c2", 5, Scalar(3, 4))];
        var result = aggregator.Aggregate(Scalar(0, 0), updates, TinyAdapters.Round(2));
        var error = Assert.Single(result.LoraProductErrors);
        Assert.Equal(PeftKeys.GptNeoXModule(0), error.Module);
        Assert.Equal(1, error.Absolute, 6);
        Assert.Equal(1.0 / 7, error.Relative, 6);
    }

    [Fact]
    public void Product_error_is_zero_when_A_is_shared()
    {
        var aggregator = TinyAdapters.Aggregator(StrategyConfig.For(StrategyName.FedAvg));
        ClientUpdate[] updates = [TinyAdapters.Wire("c1", 1, Scalar(2, 2)), TinyAdapters.Wire("c2", 3, Scalar(2, -7))];
        var result = aggregator.Aggregate(Scalar(2, 0), updates, TinyAdapters.Round(2));
        Assert.Equal(0, result.LoraProductErrorOverall, 7);
    }

    [Fact]
    public void FedAvg_holds_a_fixed_small_group_of_updates_open_whatever_the_client_count()
    {
        var open = 0;
        var maxOpen = 0;
        var adapters = Enumerable.Range(0, 12).Select(i => AdapterWireFormat.ToBytes(Adapters.AdapterSamples.Create(seed: i))).ToArray();
        var updates = adapters.Select((bytes, i) => ClientUpdate.FromWire($"c{i}", i + 1, () =>
        {
            maxOpen = Math.Max(maxOpen, ++open);
            return new TrackingStream(bytes, () => open--);
        }, AdapterHash.Sha256(bytes))).ToArray();
        var aggregator = new StreamingAggregator(
            AggregationStrategy.Create(StrategyConfig.For(StrategyName.FedAvg)),
            new UpdateValidator(new UpdateValidationConfig { MaxNormRatio = 100 }))
        {
            ReportLoraProductError = false,
            SinglePass = false, // the combiner's own reads (the single pass opens one update at a time: SinglePassRoundTests)
        };
        var result = aggregator.Aggregate(Adapters.AdapterSamples.Create(seed: 100), updates, TinyAdapters.Round(12));
        Assert.Equal(12, result.AcceptedCount);
        Assert.Equal(new WeightedMeanCombiner().GroupSize, maxOpen);
        Assert.Equal(0, open);

        // Same numbers as the weighted mean computed directly over all twelve adapters in memory.
        var all = Enumerable.Range(0, 12).Select(i => Adapters.AdapterSamples.Create(seed: i)).ToArray();
        foreach (var tensor in result.Global.Tensors)
        {
            for (var j = 0; j < tensor.Data.Length; j++)
            {
                var expected = all.Select((a, i) => (i + 1) * (double)a[tensor.Name].Data[j]).Sum() / 78.0;
                Assert.Equal(expected, tensor.Data[j], 5);
            }
        }
    }
}
