using FedTune.Core.Adapters;
using FedTune.Core.Aggregation;
using FedTune.Core.Configuration;

namespace FedTune.Core.Tests.Aggregation;

/// <summary>
/// FedAvg-family rounds read each update once (hash, validation and averaging in one pass) and give exactly what the
/// reference path (validate every update, then combine) gives; any rejection falls back to the reference path.
/// </summary>
public sealed class SinglePassRoundTests
{
    private const int R = 4;

    // One tensor spans several validation chunks (65,536 values) and neither length is a multiple of a vector width.
    private static readonly (int In, int Out)[] Modules = [(20_011, 37), (301, 1_203)];

    [Theory]
    [InlineData(StrategyName.FedAvg, false)]
    [InlineData(StrategyName.FedAdam, false)]
    [InlineData(StrategyName.FedAvgM, true)]
    public void Single_pass_round_equals_the_reference_path_bit_for_bit(StrategyName strategy, bool freezeA)
    {
        var global = Adapter(new Random(1), 0);
        var updates = Enumerable.Range(0, 7).Select(i => Wire($"h{i}", 10 + (i * 13), Adapter(new Random(100 + i), 0.05, freezeA ? global : null))).ToList();

        var single = Aggregator(strategy, freezeA, singlePass: true).Aggregate(global, updates, TinyAdapters.Round(7));
        var reference = Aggregator(strategy, freezeA, singlePass: false).Aggregate(global, updates, TinyAdapters.Round(7));

        Assert.True(single.QuorumMet);
        Assert.Equal(7, single.AcceptedCount);
        AssertSame(reference, single);
    }

    [Fact]
    public void Single_pass_reads_each_update_once_one_at_a_time()
    {
        var global = Adapter(new Random(1), 0);
        var opens = 0;
        var open = 0;
        var maxOpen = 0;
        var updates = Enumerable.Range(0, 5).Select(i =>
        {
            var bytes = AdapterWireFormat.ToBytes(Adapter(new Random(200 + i), 0.05));
            return ClientUpdate.FromWire($"h{i}", 5 + i, () =>
            {
                opens++;
                maxOpen = Math.Max(maxOpen, ++open);
                return new TrackingStream(bytes, () => open--);
            }, AdapterHash.Sha256(bytes));
        }).ToList();

        var result = Aggregator(StrategyName.FedAvg, false, singlePass: true, productError: false).Aggregate(global, updates, TinyAdapters.Round(5));
        Assert.Equal(5, result.AcceptedCount);
        Assert.Equal(5, opens);
        Assert.Equal(1, maxOpen);
        Assert.Equal(0, open);

        opens = 0;
        Aggregator(StrategyName.FedAvg, false, singlePass: false, productError: false).Aggregate(global, updates, TinyAdapters.Round(5));
        Assert.Equal(10, opens); // the reference path: a validation read and a combine read
    }

    [Fact]
    public void Rejections_fall_back_to_the_reference_path_with_the_same_reasons_and_result()
    {
        var global = Adapter(new Random(1), 0);
        var updates = Enumerable.Range(0, 6).Select(i => Wire($"h{i}", 10 + i, Adapter(new Random(300 + i), 0.05))).ToList();
        var tampered = AdapterWireFormat.ToBytes(Adapter(new Random(400), 0.05));
        var claimed = AdapterHash.Sha256(tampered);
        tampered[^3] ^= 0x40;
        updates.Add(ClientUpdate.FromWire("tampered", 12, () => new MemoryStream(tampered, writable: false), claimed));
        var poisoned = Adapter(new Random(401), 0.05);
        poisoned.Tensors[1].Data[17] = float.NaN;
        updates.Add(Wire("nan", 12, poisoned));
        updates.Add(Wire("outlier", 12, Adapter(new Random(402), 50)));

        var single = Aggregator(StrategyName.FedAvg, false, singlePass: true).Aggregate(global, updates, TinyAdapters.Round(9));
        var reference = Aggregator(StrategyName.FedAvg, false, singlePass: false).Aggregate(global, updates, TinyAdapters.Round(9));

        Assert.Equal(6, single.AcceptedCount);
        Assert.Equal(UpdateVerdict.HashMismatch, single.Validations[6].Verdict);
        Assert.Equal(UpdateVerdict.NonFinite, single.Validations[7].Verdict);
        Assert.Equal(UpdateVerdict.NormTooLarge, single.Validations[8].Verdict);
        AssertSame(reference, single);
    }

    [Fact]
    public void An_update_hashed_on_arrival_is_not_hashed_again_and_one_that_was_not_is()
    {
        var global = Adapter(new Random(1), 0);
        var bytes = AdapterWireFormat.ToBytes(Adapter(new Random(500), 0.05));
        var otherHash = AdapterHash.Sha256(AdapterWireFormat.ToBytes(Adapter(new Random(501), 0.05)));
        foreach (var singlePass in new[] { true, false })
        {
            var aggregator = Aggregator(StrategyName.FedAvg, false, singlePass);
            var arrived = ClientUpdate.FromCheckedWire("checked", 5, () => new MemoryStream(bytes, writable: false), otherHash);
            var notChecked = ClientUpdate.FromWire("unchecked", 5, () => new MemoryStream(bytes, writable: false), otherHash);

            Assert.True(aggregator.Aggregate(global, [arrived], TinyAdapters.Round(1)).Validations[0].Accepted);
            Assert.Equal(UpdateVerdict.HashMismatch, aggregator.Aggregate(global, [notChecked], TinyAdapters.Round(1)).Validations[0].Verdict);
        }
    }

    private static void AssertSame(AggregationResult expected, AggregationResult actual)
    {
        Assert.Equal(expected.Validations, actual.Validations);
        foreach (var tensor in expected.Global.Tensors)
        {
            Assert.Equal(tensor.Data, actual.Global[tensor.Name].Data); // exact float equality, element by element
        }

        Assert.Equal(expected.Shares, actual.Shares);
        Assert.Equal(expected.CombinedDeltaNorm, actual.CombinedDeltaNorm);
        Assert.Equal(expected.LoraProductErrors, actual.LoraProductErrors);
    }

    private static StreamingAggregator Aggregator(StrategyName strategy, bool freezeA, bool singlePass, bool productError = true) =>
        new(AggregationStrategy.Create(StrategyConfig.For(strategy)), new UpdateValidator(new UpdateValidationConfig { MaxNormRatio = 5, RequireManifestHash = true }))
        {
            SinglePass = singlePass,
            ReportLoraProductError = productError,
            IsFrozen = freezeA ? name => PeftKeys.IsLoraA(name, out _) : null,
        };

    private static ClientUpdate Wire(string id, double examples, LoraAdapter adapter) => TinyAdapters.Wire(id, examples, adapter);

    /// <summary>A two-module r = 4 adapter: values around <paramref name="scale"/>, lora_A copied from <paramref name="sharedA"/> when given.</summary>
    private static LoraAdapter Adapter(Random random, double scale, LoraAdapter? sharedA = null)
    {
        var tensors = new List<LoraTensor>();
        for (var layer = 0; layer < Modules.Length; layer++)
        {
            var (inFeatures, outFeatures) = Modules[layer];
            var a = PeftKeys.GptNeoXLoraA(layer);
            tensors.Add(new LoraTensor(a, [R, inFeatures], sharedA?[a].Data.ToArray() ?? Values(random, R * inFeatures, 0.1 + scale)));
            tensors.Add(new LoraTensor(PeftKeys.GptNeoXLoraB(layer), [outFeatures, R], Values(random, outFeatures * R, scale)));
        }

        return new LoraAdapter(new LoraAdapterConfig { R = R, LoraAlpha = 2 * R, TargetModules = ["query_key_value"] }, tensors);
    }

    private static float[] Values(Random random, int count, double scale) =>
        Enumerable.Range(0, count).Select(_ => (float)((random.NextDouble() - 0.5) * scale)).ToArray();
}
