using FedTune.Core.Data;
using FedTune.Training.Data;
using FedTune.Training.Tokenization;
using Xunit;

namespace FedTune.Training.Tests.Trainer;

public sealed class HuggingFaceTextTokenizerTests
{
    [Fact]
    public void Gpt2_tokenizer_json_serves_as_the_trainer_tokenizer_with_endoftext_as_eos()
    {
        var tokenizer = new HuggingFaceTextTokenizer(HuggingFaceTokenizer.FromJson(Gpt2TokenizerJson.Build()));
        var record = new AlpacaRecord("Answer this question truthfully", "What causes Allergy?", "The immune system.");

        var example = new AlpacaExampleTokenizer(tokenizer).Tokenize(record);

        Assert.Equal(Gpt2TokenizerJson.EndOfTextId, tokenizer.EosTokenId);
        Assert.Equal(Gpt2TokenizerJson.EndOfTextId, example.InputIds[^1]);
        var response = example.InputIds.Where((_, i) => example.Labels[i] != TokenizedExample.IgnoreIndex).SkipLast(1);
        Assert.Equal("The immune system.", tokenizer.Decode(response));
    }
}
