using FedTune.ClientAgent.Engine;
using FedTune.ClientAgent.Tests.Support;
using FedTune.TestSupport;

namespace FedTune.ClientAgent.Tests.Engine;

public sealed class TokenizerJsonLoaderTests
{
    [Fact]
    public void A_byte_level_tokenizer_without_merges_maps_each_utf8_byte_to_its_token()
    {
        var tokenizer = TokenizerJsonLoader.Load(TinyModel.Folder);
        const string text = "Fever, 38.5°C: rest!";
        Assert.Equal(TinyModel.EncodeBytes(text), tokenizer.Encode(text));
        Assert.Equal(text, tokenizer.Decode(tokenizer.Encode(text)));
        Assert.Equal(256, tokenizer.EosTokenId);
    }

    [Fact]
    public void A_folder_without_tokenizer_json_is_a_clear_error()
    {
        using var dir = new TempDirectory();
        var e = Assert.Throws<FileNotFoundException>(() => TokenizerJsonLoader.Load(dir.Path));
        Assert.Contains("tokenizer.json", e.Message, StringComparison.Ordinal);
    }
}
