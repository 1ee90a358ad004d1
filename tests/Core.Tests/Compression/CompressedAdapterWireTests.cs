using FedTune.Core.Adapters;
using FedTune.Core.Aggregation;
using FedTune.Core.Compression;
using FedTune.Core.Tests.Adapters;

namespace FedTune.Core.Tests.Compression;

public sealed class CompressedAdapterWireTests
{
    [Fact]
    public void Int8_stochastic_rounding_is_unbiased_and_within_one_step_of_each_block()
    {
        var random = new Random(5);
        var values = AdapterSamples.Values(random, 4096);
        var mean = new double[values.Length];
        const int draws = 400;
        var codes = new sbyte[values.Length];
        var absmax = new float[Int8BlockQuantizer.BlockCount(values.Length)];
        var decoded = new float[values.Length];
        for (var d = 0; d < draws; d++)
        {
            var state = (ulong)d * 7919;
            Int8BlockQuantizer.Quantize(values, codes, absmax, ref state);
            Int8BlockQuantizer.Dequantize(codes, absmax, decoded);
            for (var i = 0; i < values.Length; i++)
            {
                var step = absmax[i / Int8BlockQuantizer.BlockSize] / 127f;
                Assert.True(Math.Abs(decoded[i] - values[i]) <= step * 1.0001, $"element {i}: {decoded[i]} vs {values[i]}");
                mean[i] += decoded[i] / (double)draws;
            }
        }

        // Unbiased: the mean of 400 draws is within 4 standard errors (step / 2 / sqrt(400)) of the value.
        var worst = Enumerable.Range(0, values.Length).Max(i => Math.Abs(mean[i] - values[i]) / (absmax[i / Int8BlockQuantizer.BlockSize] / 127.0));
        Assert.True(worst < 4 * 0.5 / Math.Sqrt(draws), $"worst bias {worst} steps");
    }

    [Theory]
    [InlineData(WirePrecision.Fp32, 0.0)]
    [InlineData(WirePrecision.Fp16, 1e-3)]
    [InlineData(WirePrecision.Int8, 1.0 / 127 * 1.0001)]
    public void Every_precision_reads_back_through_the_one_adapter_reader(WirePrecision precision, double relativeTolerance)
    {
        var adapter = AdapterSamples.Create(layers: 2, r: 4, inFeatures: 64, outFeatures: 96);
        var bytes = CompressedAdapterWire.ToBytes(adapter, precision, seed: 7);
        var read = AdapterWireFormat.Read(new MemoryStream(bytes));
        Assert.Equal(adapter.Names, read.Names);
        foreach (var tensor in adapter.Tensors)
        {
            var max = tensor.Data.Max(Math.Abs);
            for (var i = 0; i < tensor.Data.Length; i++)
            {
                Assert.True(Math.Abs(read[tensor.Name].Data[i] - tensor.Data[i]) <= relativeTolerance * max, $"{tensor.Name}[{i}]");
            }
        }

        Assert.Equal(bytes, CompressedAdapterWire.ToBytes(adapter, precision, seed: 7));
    }

    [Fact]
    public void Pythia_70m_r16_query_key_value_int8_upload_is_under_a_thousandth_of_the_fp32_model()
    {
        // pythia-70m: 6 layers, hidden 512, query_key_value out 1536; r = 16. The fp32 model is 281.7 MB (70,426,624 params x 4 B).
        var tensors = new List<LoraTensor>();
        for (var layer = 0; layer < 6; layer++)
        {
            tensors.Add(new LoraTensor(PeftKeys.GptNeoXLoraA(layer), [16, 512], AdapterSamples.Values(new Random(layer), 16 * 512)));
            tensors.Add(new LoraTensor(PeftKeys.GptNeoXLoraB(layer), [1536, 16], AdapterSamples.Values(new Random(100 + layer), 1536 * 16)));
        }

        var adapter = new LoraAdapter(AdapterSamples.Config(16), tensors);
        var fp32 = CompressedAdapterWire.ToBytes(adapter, WirePrecision.Fp32, 1).Length;
        var fp16 = CompressedAdapterWire.ToBytes(adapter, WirePrecision.Fp16, 1).Length;
        var int8 = CompressedAdapterWire.ToBytes(adapter, WirePrecision.Int8, 1).Length;
        Assert.True(fp32 > 786_000 && fp16 < fp32 / 2 + 10_000, $"fp32 {fp32} B, fp16 {fp16} B");
        Assert.True(int8 <= 281_706_496 / 1000, $"int8 upload {int8} B is above 1/1000 of the fp32 model (281,706 B)");
    }

    [Fact]
    public void The_aggregator_validates_and_averages_int8_uploads_and_keeps_the_hash_of_the_sent_bytes()
    {
        var global = AdapterSamples.Create(layers: 1, r: 2, inFeatures: 64, outFeatures: 64, seed: 1);
        var a = global.With(t => t.Data.Select(v => v + 0.01f).ToArray());
        var b = global.With(t => t.Data.Select(v => v - 0.01f).ToArray());
        byte[] wireA = CompressedAdapterWire.ToBytes(a, WirePrecision.Int8, 1), wireB = CompressedAdapterWire.ToBytes(b, WirePrecision.Int8, 2);
        var aggregator = new StreamingAggregator(AggregationStrategy.Create(Core.Configuration.StrategyConfig.For(Core.Configuration.StrategyName.FedAvg), null, null),
            new UpdateValidator(new Core.Configuration.UpdateValidationConfig()));
        var result = aggregator.Aggregate(global,
        [
            ClientUpdate.FromWire("a", 1, () => new MemoryStream(wireA), AdapterHash.Sha256(wireA)),
            ClientUpdate.FromWire("b", 1, () => new MemoryStream(wireB), AdapterHash.Sha256(wireB)),
        ], new RoundContext(1, 2, 2, 2));
        Assert.All(result.Validations, v => Assert.True(v.Accepted, v.Reason));
        var expected = AdapterWireFormat.Read(new MemoryStream(wireA)).With(t => t.Data)
            .Tensors.Zip(AdapterWireFormat.Read(new MemoryStream(wireB)).Tensors, (x, y) => x.Data.Zip(y.Data, (p, q) => (p + q) / 2).ToArray()).ToArray();
        for (var t = 0; t < expected.Length; t++)
        {
            Assert.Equal(expected[t], result.Global.Tensors[t].Data, (x, y) => Math.Abs(x - y) < 1e-6);
        }

        var tampered = (byte[])wireA.Clone();
        tampered[^1] ^= 1;
        var rejected = aggregator.Aggregate(global, [ClientUpdate.FromWire("a", 1, () => new MemoryStream(tampered), AdapterHash.Sha256(wireA))], new RoundContext(1, 1, 1, 1));
        Assert.False(rejected.Validations[0].Accepted);
    }
}
