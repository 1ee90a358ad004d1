using FedTune.Core.Adapters;
using FedTune.Core.Aggregation;
using FedTune.Core.Configuration;
using static FedTune.Core.Tests.Aggregation.TinyAdapters;

namespace FedTune.Core.Tests.Aggregation;

public sealed class UpdateValidationTests
{
    private static readonly float[] GlobalValues = [1, 1, 1, 1];

    private static AggregationResult RunWith(ClientUpdate rogue, double maxNormRatio = 10, bool freezeA = false)
    {
        ClientUpdate[] updates = [Wire("good-1", 1, Of(2, 2, 2, 2)), Wire("good-2", 1, Of(0, 0, 0, 0)), Wire("good-3", 1, Of(1.5f, 1.5f, 1.5f, 1.5f)), rogue];
        var aggregator = new StreamingAggregator(
            AggregationStrategy.Create(StrategyConfig.For(StrategyName.FedAvg)),
            new UpdateValidator(new UpdateValidationConfig { MaxNormRatio = maxNormRatio }))
        {
            IsFrozen = freezeA ? name => PeftKeys.IsLoraA(name, out _) : null,
        };
        var result = aggregator.Aggregate(Of(GlobalValues), updates, new RoundContext(1, 4, 4, 3));
        Assert.True(result.QuorumMet, "the round goes on without the rejected update");
        Assert.Equal(3, result.AcceptedCount);
        return result;
    }

    private static UpdateValidationResult Rogue(AggregationResult result) => result.Validations.Single(v => v.ClientId == "rogue");

    [Fact]
    public void Non_finite_values_are_rejected_with_the_tensor_named()
    {
        var rogue = Rogue(RunWith(Wire("rogue", 1, Of(1, float.NaN, 1, 1))));
        Assert.Equal(UpdateVerdict.NonFinite, rogue.Verdict);
        Assert.Contains("lora_A", rogue.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Wrong_shapes_are_rejected()
    {
        var wrong = new LoraAdapter(Config, [new LoraTensor(PeftKeys.GptNeoXLoraA(0), [1, 3], [1, 1, 1]), new LoraTensor(PeftKeys.GptNeoXLoraB(0), [2, 1], [1, 1])]);
        var rogue = Rogue(RunWith(Wire("rogue", 1, wrong)));
        Assert.Equal(UpdateVerdict.StructureMismatch, rogue.Verdict);
        Assert.Contains("shape [1, 3]", rogue.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Hash_not_matching_the_manifest_is_rejected()
    {
        var bytes = AdapterWireFormat.ToBytes(Of(1, 1, 1, 1));
        var rogue = Rogue(RunWith(ClientUpdate.FromWire("rogue", 1, () => new MemoryStream(bytes), new string('0', 64))));
        Assert.Equal(UpdateVerdict.HashMismatch, rogue.Verdict);
    }

    [Fact]
    public void Missing_manifest_hash_is_rejected_when_required()
    {
        var bytes = AdapterWireFormat.ToBytes(Of(1, 1, 1, 1));
        var rogue = Rogue(RunWith(ClientUpdate.FromWire("rogue", 1, () => new MemoryStream(bytes))));
        Assert.Equal(UpdateVerdict.HashMismatch, rogue.Verdict);
    }

    [Fact]
    public void Update_far_beyond_the_median_norm_is_rejected()
    {
        var rogue = Rogue(RunWith(Wire("rogue", 1, Of(100, 100, 100, 100))));
        Assert.Equal(UpdateVerdict.NormTooLarge, rogue.Verdict);
        Assert.Contains("median", rogue.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Garbage_bytes_are_rejected_as_unreadable()
    {
        byte[] garbage = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        var rogue = Rogue(RunWith(ClientUpdate.FromWire("rogue", 1, () => new MemoryStream(garbage), AdapterHash.Sha256(garbage))));
        Assert.Equal(UpdateVerdict.Unreadable, rogue.Verdict);
    }

    [Fact]
    public void Non_positive_example_count_is_rejected()
    {
        var rogue = Rogue(RunWith(Wire("rogue", 0, Of(1, 1, 1, 1))));
        Assert.Equal(UpdateVerdict.InvalidWeight, rogue.Verdict);
    }

    [Fact]
    public void Changed_frozen_A_is_rejected_under_freeze_a()
    {
        ClientUpdate[] updates = [Wire("good-1", 1, Of(1, 1, 2, 2)), Wire("good-2", 1, Of(1, 1, 0, 0)), Wire("good-3", 1, Of(1, 1, 3, 3)), Wire("rogue", 1, Of(5, 1, 1, 1))];
        var aggregator = new StreamingAggregator(AggregationStrategy.Create(StrategyConfig.For(StrategyName.FedAvg)), new UpdateValidator(new UpdateValidationConfig()))
        {
            IsFrozen = name => PeftKeys.IsLoraA(name, out _),
        };
        var result = aggregator.Aggregate(Of(GlobalValues), updates, new RoundContext(1, 4, 4, 3));
        Assert.Equal(UpdateVerdict.FrozenTensorChanged, result.Validations[3].Verdict);
        Assert.Equal([1.0, 1.0, 5.0 / 3, 5.0 / 3], Flat(result.Global).Select(v => Math.Round(v, 5)), (a, b) => Math.Abs(a - b) < 1e-5);
        Assert.Equal(0, result.LoraProductErrorOverall, 6);
    }

    [Fact]
    public void Too_few_accepted_updates_leave_the_global_unchanged_and_say_so()
    {
        var aggregator = Aggregator(StrategyConfig.For(StrategyName.FedAvg));
        var global = Of(GlobalValues);
        var result = aggregator.Aggregate(global, [Wire("c1", 1, Of(1, float.PositiveInfinity, 1, 1))], new RoundContext(1, 1, 1, 1));
        Assert.False(result.QuorumMet);
        Assert.Same(global, result.Global);
    }
}
