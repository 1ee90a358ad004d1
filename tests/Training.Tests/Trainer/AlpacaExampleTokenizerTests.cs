using FedTune.Core.Data;
using FedTune.Training.Data;
using Xunit;

namespace FedTune.Training.Tests.Trainer;

public sealed class AlpacaExampleTokenizerTests
{
    private static readonly ByteTokenizer Bytes = new();
    private static readonly AlpacaRecord Record = new("Answer this question truthfully", "What causes Allergy?", "The immune system.");

    [Fact]
    public void FormatPrompt_uses_the_standard_alpaca_template_with_and_without_input()
    {
        Assert.Equal(
            "Below is an instruction that describes a task, paired with an input that provides further context. Write a response that " +
            "appropriately completes the request.\n\n### Instruction:\nAnswer this question truthfully\n\n### Input:\nWhat causes Allergy?\n\n### Response:\n",
            AlpacaPromptTemplate.Alpaca.FormatPrompt(Record));
        Assert.Equal(
            "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n" +
            "### Instruction:\nSay hi\n\n### Response:\n",
            AlpacaPromptTemplate.Alpaca.FormatPrompt(new AlpacaRecord("Say hi", "", "hi")));
    }

    [Fact]
    public void Tokenize_masks_the_prompt_and_scores_the_response_and_eos_by_default()
    {
        var example = new AlpacaExampleTokenizer(Bytes).Tokenize(Record);

        var promptLength = Bytes.Encode(AlpacaPromptTemplate.Alpaca.FormatPrompt(Record)).Count;
        var responseLength = Bytes.Encode(Record.Output).Count;
        Assert.Equal(promptLength + responseLength + 1, example.InputIds.Length);
        Assert.All(example.Labels.Take(promptLength), l => Assert.Equal(TokenizedExample.IgnoreIndex, l));
        Assert.Equal(example.InputIds.Skip(promptLength), example.Labels.Skip(promptLength));
        Assert.Equal(Bytes.EosTokenId, example.InputIds[^1]);
        Assert.Equal(responseLength + 1, example.ScoredTokenCount);
        Assert.Equal(Record.Output, Bytes.Decode(example.InputIds.Skip(promptLength)));
    }

    [Fact]
    public void Tokenize_with_full_sequence_loss_scores_every_token()
    {
        var example = new AlpacaExampleTokenizer(Bytes, options: new TokenizationOptions { CompletionOnlyLoss = false }).Tokenize(Record);

        Assert.Equal(example.InputIds, example.Labels);
    }

    [Fact]
    public void Tokenize_truncates_keeping_the_end_of_the_prompt_and_the_start_of_the_response()
    {
        var longRecord = Record with { Output = new string('x', 500) };
        var template = new AlpacaPromptTemplate("{instruction} {input} ### Response:", "{instruction} ### Response:");

        var example = new AlpacaExampleTokenizer(Bytes, template, new TokenizationOptions { SeqLength = 100 }).Tokenize(longRecord);

        Assert.Equal(100, example.InputIds.Length);
        var prompt = Bytes.Encode(template.FormatPrompt(longRecord));
        var kept = Bytes.Decode(example.InputIds);
        Assert.StartsWith(template.FormatPrompt(longRecord), kept, StringComparison.Ordinal);
        Assert.EndsWith("### Response:" + new string('x', 100 - prompt.Count), kept, StringComparison.Ordinal);
        Assert.NotEqual(Bytes.EosTokenId, example.InputIds[^1]);
    }

    [Fact]
    public void Tokenize_gives_an_overlong_prompt_only_part_of_the_window_so_the_response_is_still_learned()
    {
        var record = Record with { Input = new string('q', 400) };

        var example = new AlpacaExampleTokenizer(Bytes, options: new TokenizationOptions { SeqLength = 64 }).Tokenize(record);

        Assert.Equal(64, example.InputIds.Length);
        Assert.Equal(16, example.ScoredTokenCount);
        Assert.EndsWith("### Response:\n" + Record.Output[..16], Bytes.Decode(example.InputIds), StringComparison.Ordinal);
    }
}
