using FedTune.ClientAgent.Execution;
using FedTune.ClientAgent.Tests.Support;
using FedTune.Core.Adapters;
using FedTune.Core.Data;
using FedTune.TestSupport;
using FedTune.Training.BaseModel;

namespace FedTune.ClientAgent.Tests.Integration;

/// <summary>The agent on the embedded base model's layout (GPT-2 BPE tokenizer.json, fedtune_base.json), in a tiny shape.</summary>
[Collection(AzuriteTestGroup.Name)]
public sealed class EmbeddedBaseModelRoundTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task A_round_on_the_embedded_base_model_with_its_gpt2_tokenizer_completes()
    {
        using var bed = new AgentTestBed(azurite);
        var records = new AlpacaDatasetReader().ReadAll(TestPaths.RequireMedicalMeadowFile());
        // Pretraining texts and the hospital's records are disjoint parts of the real data.
        var texts = records.Take(40).Select(r => r.Instruction + "\n" + r.Output).ToList();
        AlpacaJsonlWriter.Write(bed.DataFile, records.Skip(40).Take(16));
        var modelFolder = Path.Combine(bed.Root, "embedded-small");
        EmbeddedBaseModel.Create(texts, modelFolder, new EmbeddedBaseModelOptions
        {
            HiddenSize = 32, Layers = 1, Heads = 4, IntermediateSize = 64, MaxPositionEmbeddings = 128, SequenceLength = 32,
            BatchSize = 2, MaxSteps = 1, Seed = 3,
        });
        var initial = await bed.PublishGlobalAdapterAsync(TinyModel.InitialAdapterWireBytes(folder: modelFolder, name: "fedtune/embedded-small"));
        await bed.WriteTaskAsync(1, initial, baseModel: "fedtune/embedded-small");
        var options = bed.Options();
        options.ModelPath = modelFolder;

        var (outcome, _, log) = await bed.RunOpenTaskAsync(options);

        Assert.True(outcome == TaskOutcome.Completed, string.Join("\n", log.Lines));
        var manifest = (await bed.ManifestAsync(1))!;
        Assert.Equal(12, manifest.ExampleCount);
        Assert.True(manifest.Metrics.HeldOutTokens > 0);
        Assert.True(manifest.Metrics.HeldOutNll is > 0 and < 15, $"held-out NLL {manifest.Metrics.HeldOutNll}");
        var adapter = AdapterWireFormat.Read(new MemoryStream((await bed.Store.TryReadAllBytesAsync(manifest.Adapter.Blob))!));
        Assert.NotEmpty(adapter.Tensors);
    }
}
