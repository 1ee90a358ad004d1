using FedTune.Training.BaseModel;
using FedTune.Training.Modeling;
using FedTune.Training.Tests.Modeling;
using FedTune.Training.Tokenization;
using TorchSharp;
using Xunit;

namespace FedTune.Training.Tests.BaseModel;

public sealed class EmbeddedBaseModelTests
{
    private static readonly string[] Texts = Enumerable.Range(0, 40).Select(i =>
        $"Patient {i} reports headache and fever. Hypertension is treated with lifestyle changes and medication. " +
        "Diabetes requires monitoring of blood glucose.").ToArray();

    private static readonly EmbeddedBaseModelOptions Tiny = new()
    {
        HiddenSize = 32, Layers = 2, Heads = 4, IntermediateSize = 64, MaxPositionEmbeddings = 64,
        SequenceLength = 32, BatchSize = 4, MaxSteps = 12, LearningRate = 3e-3, Seed = 5,
        TimeBudget = TimeSpan.FromMinutes(5),
    };

    [Fact]
    public void Create_pretrains_saves_in_HF_layout_reproducibly_and_caches()
    {
        var root = ModelTestSupport.NewTempFolder();
        var first = EmbeddedBaseModel.Create(Texts, Path.Combine(root, "a"), Tiny);
        Assert.False(first.FromCache);
        Assert.Equal(12, first.Steps);
        Assert.True(first.FinalLoss < first.FirstLoss, $"loss went from {first.FirstLoss} to {first.FinalLoss}");

        var tokenizer = HuggingFaceTokenizer.Load(first.Folder);
        using (var model = HuggingFaceModelLoader.Load(first.Folder))
        {
            // GPT-2's BPE cut to these texts' tokens (far fewer than the 8,192 asked for): the 256 bytes, the texts'
            // tokens with the merges that build them, and <|endoftext|> last; rows padded to a multiple of 64.
            Assert.InRange(tokenizer.VocabularySize, 258, 400);
            Assert.Equal(EmbeddedBaseModel.VocabularyRows(tokenizer.VocabularySize), model.VocabularySize);
            Assert.Equal(0, model.VocabularySize % 64);
            Assert.Empty(model.AdapterParameters);
        }

        Assert.Equal(tokenizer.VocabularySize - 1, tokenizer.EndOfTextId);
        Assert.Equal(Texts[0], tokenizer.Decode(tokenizer.Encode(Texts[0])));

        var again = EmbeddedBaseModel.Create(Texts, Path.Combine(root, "b"), Tiny);
        Assert.Equal(
            File.ReadAllBytes(Path.Combine(first.Folder, "model.safetensors")),
            File.ReadAllBytes(Path.Combine(again.Folder, "model.safetensors")));

        var cached = EmbeddedBaseModel.Create(Texts, Path.Combine(root, "a"), Tiny);
        Assert.True(cached.FromCache);
        Assert.Equal(first.FinalLoss, cached.FinalLoss);
    }

    [Fact]
    public void A_model_cut_short_by_the_time_budget_is_never_reused_from_the_cache()
    {
        var folder = Path.Combine(ModelTestSupport.NewTempFolder(), "capped");
        var capped = EmbeddedBaseModel.Create(Texts, folder, Tiny with { TimeBudget = TimeSpan.FromTicks(1) });
        Assert.True(capped.StoppedByTimeBudget);
        Assert.Equal(1, capped.Steps); // at least one step, so the model has a loss to record

        var rebuilt = EmbeddedBaseModel.Create(Texts, folder, Tiny);
        Assert.False(rebuilt.FromCache);
        Assert.False(rebuilt.StoppedByTimeBudget);
        Assert.Equal(12, rebuilt.Steps);
        Assert.True(EmbeddedBaseModel.Create(Texts, folder, Tiny).FromCache);
    }
}
