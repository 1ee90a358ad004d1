using FedTune.Core.Configuration;
using FedTune.Core.Data;
using FedTune.TestSupport;
using FedTune.Training.Data;
using FedTune.Training.Tokenization;
using Xunit;

namespace FedTune.Training.Tests.Trainer;

/// <summary>The real GPT-NeoX-20B tokenizer that every Pythia model uses (../shared/models/pythia-70m/tokenizer.json).</summary>
public sealed class AlpacaTokenizationWithPythiaTests
{
    private static readonly Lazy<HuggingFaceTokenizer> Pythia = new(() => HuggingFaceTokenizer.Load(TestPaths.RequirePythia70mFolder()));

    [Fact]
    public void Known_text_gets_pythias_ids_and_decodes_back()
    {
        var tokenizer = Pythia.Value;

        Assert.Equal([12092, 13, 309, 717], tokenizer.Encode("Hello, I am"));
        var text = "What are the symptoms of Wolff-Parkinson-White syndrome?  Palpitations, dizziness\nand fainting.";
        Assert.Equal(text, tokenizer.Decode(tokenizer.Encode(text)));
    }

    [Fact]
    public void Added_tokens_are_single_ids_endoftext_0_is_eos_and_padding_1_pads()
    {
        var tokenizer = Pythia.Value;

        Assert.Equal(29, tokenizer.AddedTokens.Count);
        Assert.Equal(50281, tokenizer.VocabularySize); // highest added id 50280 + 1; the model pads its embedding to 50304
        Assert.Equal(0, ((ITextTokenizer)tokenizer).EosTokenId);
        Assert.Equal(1, ((ITextTokenizer)tokenizer).PadTokenId);
        var ids = tokenizer.Encode("fever<|endoftext|>rest");
        Assert.Contains(0, ids);
        Assert.Equal("fever<|endoftext|>rest", tokenizer.Decode(ids));
    }

    [Fact]
    public void A_long_record_is_truncated_at_the_recipes_seq_length_and_keeps_a_quarter_for_the_response()
    {
        var recipe = new TrainingRecipe { BaseModel = "EleutherAI/pythia-70m", SeqLength = 64 };
        var record = new AlpacaRecord("Answer this question truthfully",
            string.Concat(Enumerable.Repeat("What causes a very long and detailed question about chest pain? ", 20)),
            string.Concat(Enumerable.Repeat("Chest pain has many causes, from muscle strain to heart disease. ", 20)));

        var example = new AlpacaExampleTokenizer(Pythia.Value, options: TokenizationOptions.For(recipe)).Tokenize(record);

        Assert.Equal(64, example.InputIds.Length);
        Assert.True(example.ScoredTokenCount >= 16, $"{example.ScoredTokenCount} response tokens kept");
        Assert.Equal(example.ScoredTokenCount, example.Labels.Count(l => l != TokenizedExample.IgnoreIndex));
    }
}
