using FedTune.Core.Adapters;
using FedTune.Core.Aggregation;
using FedTune.Core.Configuration;
using FedTune.Orchestration.Aggregation;
using FedTune.Orchestration.Plans;
using FedTune.TestSupport;
using Xunit;

namespace FedTune.Orchestration.Tests.Unit;

/// <summary>The aggregator the run builds (plan → <see cref="CoreAggregation.Create"/>) from a configuration with fedadam, DP and freeze-A.</summary>
public sealed class AggregationFromConfigTests
{
    [Fact]
    public void Config_with_fedadam_dp_and_freeze_a_runs_rounds_and_reports_privacy()
    {
        var yaml = (SeedConfigYaml.Nested + SeedConfigYaml.Federation).Replace("target_modules: null", "target_modules: null\n    freeze_a: true", StringComparison.Ordinal);
        var config = FedTuneConfigLoader.Parse(yaml, "run.yaml");
        var plan = FederationPlanBuilder.FromConfig(config, "run-1", baseModel: TestHost.TestAdapters.BaseModel);
        var aggregator = CoreAggregation.Create(plan.Aggregation);
        var adapterConfig = LoraAdapterConfig.From(plan.Recipe, ["query_key_value"]);
        Assert.Equal(16, adapterConfig.R);
        Assert.Equal(4.0, adapterConfig.Scaling);

        var global = new LoraAdapter(adapterConfig,
        [
            new LoraTensor(PeftKeys.GptNeoXLoraA(0), [16, 4], Enumerable.Range(0, 64).Select(i => i / 64f).ToArray()),
            new LoraTensor(PeftKeys.GptNeoXLoraB(0), [4, 16], new float[64]),
        ]);
        ClientUpdate Client(string id, float value)
        {
            var bytes = AdapterWireFormat.ToBytes(global.With(t => t.Name.Contains("lora_B", StringComparison.Ordinal) ? Enumerable.Repeat(value, 64).ToArray() : t.Data));
            return ClientUpdate.FromWire(id, 10, () => new MemoryStream(bytes, writable: false), AdapterHash.Sha256(bytes));
        }

        var round = new RoundContext(1, 3, 3, config.Federation.MinFitClients);
        var first = aggregator.Aggregate(global, [Client("hospital-a", 0.01f), Client("hospital-b", 0.02f), Client("hospital-c", 0.03f)], round);
        Assert.True(first.QuorumMet);
        Assert.Equal("dp-fedadam", first.State.Strategy);
        Assert.Equal(global[PeftKeys.GptNeoXLoraA(0)].Data, first.Global[PeftKeys.GptNeoXLoraA(0)].Data);
        Assert.NotEqual(global[PeftKeys.GptNeoXLoraB(0)].Data, first.Global[PeftKeys.GptNeoXLoraB(0)].Data);
        Assert.Equal(0, first.LoraProductErrorOverall, 6);
        Assert.Equal(1e-6, first.Privacy!.Delta);
        Assert.Equal(1.0, first.Privacy.SamplingRate);

        var second = aggregator.Aggregate(first.Global, [Client("hospital-a", 0.01f), Client("hospital-b", 0.02f)], round with { Round = 2 }, first.State, first.Accountant);
        Assert.Equal(2, second.Privacy!.Rounds);
        Assert.True(second.Privacy.Epsilon > first.Privacy.Epsilon, "privacy loss grows with every round");
    }

    [Fact]
    public void AggregateRound_reads_each_downloaded_file_once_without_hashing_it_again()
    {
        var global = new LoraAdapter(new LoraAdapterConfig { R = 2, LoraAlpha = 4, TargetModules = ["query_key_value"] },
        [
            new LoraTensor(PeftKeys.GptNeoXLoraA(0), [2, 8], Enumerable.Range(0, 16).Select(i => i / 16f).ToArray()),
            new LoraTensor(PeftKeys.GptNeoXLoraB(0), [8, 2], new float[16]),
        ]);
        var folder = Directory.CreateTempSubdirectory("fedtune-aggregate-test-");
        try
        {
            var updates = Enumerable.Range(0, 3).Select(h =>
            {
                var bytes = AdapterWireFormat.ToBytes(global.With(t => t.Data.Select(v => v + (0.01f * (h + 1))).ToArray()));
                var path = Path.Combine(folder.FullName, $"h{h}.safetensors");
                File.WriteAllBytes(path, bytes);
                return CoreAggregation.DownloadedUpdate($"hospital-{h}", 10, path, AdapterHash.Sha256(bytes));
            }).ToList();

            var aggregator = CoreAggregation.Create(new AggregationSettings { Strategy = "fedavg", MaxNormRatio = 10 });
            Assert.True(aggregator.SinglePass);
            Assert.All(updates, u => Assert.True(u.HashCheckedOnArrival)); // the download hashed the bytes as they streamed in
            var single = aggregator.Aggregate(global, updates, new RoundContext(1, 3, 3, 1));
            var reference = CoreAggregation.Create(new AggregationSettings { Strategy = "fedavg", MaxNormRatio = 10 }, singlePass: false)
                .Aggregate(global, updates, new RoundContext(1, 3, 3, 1));
            Assert.Equal(3, single.AcceptedCount);
            foreach (var tensor in reference.Global.Tensors)
            {
                Assert.Equal(tensor.Data, single.Global[tensor.Name].Data);
            }
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }
}
