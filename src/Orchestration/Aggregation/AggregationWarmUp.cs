using FedTune.Core.Adapters;
using FedTune.Core.Aggregation;
using FedTune.Core.Compression;
using FedTune.Core.Protocol;

namespace FedTune.Orchestration.Aggregation;

/// <summary>
/// Runs the aggregation's code path once on a tiny in-memory round (two updates of a 2-layer, rank-2 adapter: read, hash,
/// validate, average, LoRA product error, the new global's wire bytes), so that the first real
/// round of a freshly started host does not pay the JIT and first-use costs of that path between its last upload and
/// its new global adapter (about a second on a 2-core machine). Touches no storage; the local host runs it in the
/// background when it starts.
/// </summary>
public static class AggregationWarmUp
{
    public static void Run()
    {
        var shape = new BaseModelShape { HiddenSize = 4, IntermediateSize = 8, NumHiddenLayers = 2, VocabSize = 16, TieWordEmbeddings = true };
        var lora = new LoraAdapterConfig { R = 2, LoraAlpha = 4, TargetModules = ["query_key_value"], BaseModelNameOrPath = "warm-up" };
        var global = InitialAdapter.Create(shape, lora, seed: 1);
        var updates = new List<ClientUpdate>();
        for (int h = 0; h < 2; h++)
        {
            float shift = 0.001f * (h + 1);
            var wire = AdapterWireFormat.ToBytes(global.With(t => t.Data.Select(v => v + shift).ToArray()));
            updates.Add(ClientUpdate.FromCheckedWire($"warm-up-{h}", 10, () => new MemoryStream(wire, writable: false), AdapterHash.Sha256(wire)));
        }
        var aggregator = CoreAggregation.Create(new FedTune.Orchestration.Plans.AggregationSettings(), (shape, lora));
        var result = aggregator.Aggregate(global, updates, new RoundContext(1, 2, 2, 2), null, null);
        CompressedAdapterWire.ToBytes(result.Global, WirePrecision.Fp32, seed: 1);
    }
}
