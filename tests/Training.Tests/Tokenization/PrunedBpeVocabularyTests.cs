using FedTune.Training.Tokenization;
using Xunit;

namespace FedTune.Training.Tests.Tokenization;

public sealed class PrunedBpeVocabularyTests
{
    private static readonly string[] Corpus = Enumerable.Range(0, 30).Select(i =>
        $"Hypertension is treated with lifestyle changes and medication; patient {i % 7} reports headache.").ToArray();

    private static readonly Lazy<string> FullJson = new(Gpt2TokenizerJson.Build);

    private static HuggingFaceTokenizer Full => HuggingFaceTokenizer.FromJson(FullJson.Value);

    [Fact]
    public void The_vocabulary_has_the_size_asked_for_with_end_of_text_last()
    {
        var pruned = HuggingFaceTokenizer.FromJson(PrunedBpeVocabulary.Build(FullJson.Value, Corpus, 300));
        Assert.Equal(300, pruned.VocabularySize);
        Assert.Equal(299, pruned.EndOfTextId);
    }

    [Fact]
    public void Any_text_still_round_trips_also_words_and_scripts_the_corpus_never_used()
    {
        var pruned = HuggingFaceTokenizer.FromJson(PrunedBpeVocabulary.Build(FullJson.Value, Corpus, 300));
        foreach (var text in new[] { Corpus[3], "Chemotherapy for glioblastoma: temozolomide 75 mg/m²", "Naïve T-cells — 日本語 🙂", "a<|endoftext|>b" })
            Assert.Equal(text, pruned.Decode(pruned.Encode(text)));
        Assert.Equal(299, pruned.Encode("a<|endoftext|>b")[1]);
    }

    [Fact]
    public void With_room_for_all_its_tokens_the_corpus_tokenizes_as_before_and_unseen_words_take_longer_pieces()
    {
        var pruned = HuggingFaceTokenizer.FromJson(PrunedBpeVocabulary.Build(FullJson.Value, Corpus, 1000));
        Assert.True(pruned.VocabularySize < 1000, "the corpus has fewer tokens (with the merges that build them) than room");
        foreach (var text in Corpus)
            Assert.Equal(Full.Decode(Full.Encode(text)), pruned.Decode(pruned.Encode(text)));
        Assert.Equal(Full.Encode(Corpus[0]).Count, pruned.Encode(Corpus[0]).Count);
        const string unseen = " glioblastoma multiforme";
        Assert.True(pruned.Encode(unseen).Count > Full.Encode(unseen).Count, "a word the corpus never used needs more pieces");
        Assert.True(pruned.Encode(unseen).Count <= System.Text.Encoding.UTF8.GetByteCount(unseen));
    }

    [Fact]
    public void A_smaller_size_keeps_the_most_frequent_tokens_and_the_same_inputs_give_the_same_tokenizer()
    {
        var small = PrunedBpeVocabulary.Build(FullJson.Value, Corpus, 270);
        Assert.Equal(small, PrunedBpeVocabulary.Build(FullJson.Value, Corpus, 270));
        var tokenizer = HuggingFaceTokenizer.FromJson(small);
        Assert.Equal(270, tokenizer.VocabularySize);
        // " and", " with" and " is" occur in every text: they are among the first kept.
        foreach (var word in new[] { " and", " with", " is" })
            Assert.Single(tokenizer.Encode(word));
    }

    [Fact]
    public void A_size_below_the_byte_alphabet_is_refused_naming_the_minimum()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => PrunedBpeVocabulary.Build(FullJson.Value, Corpus, 200));
        Assert.Contains("at least 257 tokens", error.Message, StringComparison.Ordinal);
    }
}
