using FedTune.Training.Data;
using FedTune.ClientAgent.Tests.Support;
using FedTune.TestSupport;

namespace FedTune.ClientAgent.Tests.Engine;

public sealed class ModelTokenizerTests
{
    [Fact]
    public void A_byte_level_tokenizer_without_merges_maps_each_utf8_byte_to_its_token()
    {
        ITextTokenizer tokenizer = FedTune.Training.Tokenization.HuggingFaceTokenizer.Load(TinyModel.Folder);
        const string text = "Fever, 38.5°C: rest!";
        Assert.Equal(ByteLevelNeoXModel.EncodeBytes(text), tokenizer.Encode(text));
        Assert.Equal(text, tokenizer.Decode(tokenizer.Encode(text)));
        Assert.Equal(256, tokenizer.EosTokenId);
    }

    [Fact]
    public void A_folder_without_tokenizer_json_is_a_clear_error()
    {
        using var dir = new TempDirectory();
        var e = Assert.Throws<FileNotFoundException>(() => FedTune.Training.Tokenization.HuggingFaceTokenizer.Load(dir.Path));
        Assert.Contains("tokenizer.json", e.Message, StringComparison.Ordinal);
    }
}

public sealed class ModelTokenizerRealTextTests
{
    [Fact]
    public void Real_medical_text_encodes_to_byte_tokens_only()
    {
        var file = TestPaths.RequireMedicalMeadowFile();
        var tokenizer = FedTune.Training.Tokenization.HuggingFaceTokenizer.Load(TinyModel.Folder);
        foreach (var record in new FedTune.Core.Data.AlpacaDatasetReader().Read(file).Take(400))
        {
            var text = record.Instruction + record.Input + record.Output;
            var ids = tokenizer.Encode(text);
            Assert.True(ids.All(i => i is >= 0 and < 256), $"ids {string.Join(",", ids.Where(i => i is < 0 or >= 256).Take(5))} for: {text[..Math.Min(80, text.Length)]}");
            Assert.Equal(ByteLevelNeoXModel.EncodeBytes(text), ids);
        }
    }
}
