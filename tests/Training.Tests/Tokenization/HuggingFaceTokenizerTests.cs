using System.Text.Json.Nodes;
using FedTune.Training.Tokenization;
using Microsoft.ML.Tokenizers;
using Xunit;

namespace FedTune.Training.Tests.Tokenization;

public sealed class HuggingFaceTokenizerTests
{
    private static readonly Lazy<HuggingFaceTokenizer> Gpt2 = new(() => HuggingFaceTokenizer.FromJson(Gpt2TokenizerJson.Build()));

    private static readonly string[] MedicalTexts =
    [
        "What are the symptoms of type 2 diabetes mellitus?",
        "Patients with hypertension (BP ≥ 140/90 mmHg) should reduce sodium intake to <2.3 g/day.",
        "β-blockers such as metoprolol lower heart rate; fever above 38.5 °C warrants evaluation.",
        "Naïve T-cells   migrate\tto lymph nodes.\n\nSee also: Crohn's disease, Hashimoto's thyroiditis — ICD-10 E06.3.",
    ];

    [Fact]
    public void Gpt2_tokenizer_json_encodes_like_the_tiktoken_GPT2_tokenizer()
    {
        var reference = TiktokenTokenizer.CreateForModel("gpt2");
        Assert.Equal([15496, 995], Gpt2.Value.Encode("Hello world"));
        foreach (var text in MedicalTexts)
            Assert.Equal(reference.EncodeToIds(text), Gpt2.Value.Encode(text));
        Assert.Equal(50257, Gpt2.Value.VocabularySize);
        Assert.Equal(50256, Gpt2.Value.EndOfTextId);
    }

    [Fact]
    public void Encode_then_Decode_round_trips_medical_text()
    {
        foreach (var text in MedicalTexts)
            Assert.Equal(text, Gpt2.Value.Decode(Gpt2.Value.Encode(text)));
    }

    [Fact]
    public void End_of_text_in_the_text_becomes_its_id_and_can_be_skipped_when_decoding()
    {
        var ids = Gpt2.Value.Encode("Answer: rest.<|endoftext|>");
        Assert.Equal(50256, ids[^1]);
        Assert.Equal("Answer: rest.", Gpt2.Value.Decode(ids, skipAddedTokens: true));
        Assert.Equal("Answer: rest.<|endoftext|>", Gpt2.Value.Decode(ids));
    }

    [Fact]
    public void A_NeoX_style_tokenizer_json_with_pair_merges_added_tokens_and_NFC_loads_from_a_folder()
    {
        var vocab = new JsonObject { ["<|endoftext|>"] = 0, ["<|padding|>"] = 1 };
        int next = 2;
        foreach (var ch in "abcdefghijklmnopqrstuvwxyzĠ.") vocab[ch.ToString()] = next++;
        vocab["Ġa"] = next++;
        vocab["ab"] = next++;
        vocab["ĠĠ"] = 40;
        vocab["ĠĠĠ"] = 41;
        var json = new JsonObject
        {
            ["added_tokens"] = new JsonArray(
                new JsonObject { ["id"] = 0, ["content"] = "<|endoftext|>", ["special"] = true },
                new JsonObject { ["id"] = 1, ["content"] = "<|padding|>", ["special"] = true },
                new JsonObject { ["id"] = 40, ["content"] = "  ", ["special"] = false },
                new JsonObject { ["id"] = 41, ["content"] = "   ", ["special"] = false }),
            ["normalizer"] = new JsonObject { ["type"] = "NFC" },
            ["pre_tokenizer"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["use_regex"] = true },
            ["decoder"] = new JsonObject { ["type"] = "ByteLevel" },
            ["model"] = new JsonObject { ["type"] = "BPE", ["vocab"] = vocab, ["merges"] = new JsonArray(new JsonArray("Ġ", "a"), new JsonArray("a", "b")) },
        };
        var folder = Path.Combine(Path.GetTempPath(), "fedtune-tokenizer-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "tokenizer.json"), json.ToJsonString());

        var tokenizer = HuggingFaceTokenizer.Load(folder);
        var ids = tokenizer.Encode("ab ab.<|endoftext|>");
        Assert.Equal([vocab["ab"]!.GetValue<int>(), vocab["Ġa"]!.GetValue<int>(), vocab["b"]!.GetValue<int>(), vocab["."]!.GetValue<int>(), 0], ids);
        Assert.Equal("ab ab.", tokenizer.Decode(ids, skipAddedTokens: true));
        Assert.Equal(1, tokenizer.PaddingId);
        Assert.Equal(0, tokenizer.EndOfTextId);
        FedTune.Training.Data.ITextTokenizer forTrainer = tokenizer;
        Assert.Equal(0, forTrainer.EosTokenId);
        Assert.Equal(1, forTrainer.PadTokenId);
        Assert.Equal("ab", forTrainer.Decode(forTrainer.Encode("ab")));
        // Runs of spaces that are added tokens match longest first.
        Assert.Equal([vocab["ab"]!.GetValue<int>(), 41, vocab["ab"]!.GetValue<int>()], tokenizer.Encode("ab   ab"));
        Assert.Equal("ab   ab", tokenizer.Decode(tokenizer.Encode("ab   ab")));
    }

    [Theory]
    [InlineData("""{"model":{"type":"Unigram","vocab":[]},"pre_tokenizer":{"type":"Metaspace"}}""", "only byte-level BPE")]
    [InlineData("""{"model":{"type":"BPE","vocab":{},"merges":[]},"pre_tokenizer":{"type":"Whitespace"}}""", "ByteLevel")]
    [InlineData("""{"pre_tokenizer":{"type":"ByteLevel"}}""", "no \"model\"")]
    [InlineData("[1,2", "not valid JSON")]
    public void FromJson_rejects_tokenizers_it_cannot_reproduce(string json, string message)
    {
        var error = Assert.Throws<InvalidDataException>(() => HuggingFaceTokenizer.FromJson(json));
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_explains_a_missing_tokenizer_json()
    {
        var error = Assert.Throws<FileNotFoundException>(() => HuggingFaceTokenizer.Load(Path.GetTempPath()));
        Assert.Contains("tokenizer.json", error.Message, StringComparison.Ordinal);
    }
}
