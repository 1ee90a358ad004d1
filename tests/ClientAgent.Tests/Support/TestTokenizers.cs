using System.Text;
using FedTune.Training.Data;

namespace FedTune.ClientAgent.Tests.Support;

/// <summary>The tokenizer of <see cref="TinyModel"/>: byte-level BPE without merges is one token per UTF-8 byte.</summary>
public static class TestTokenizers
{
    public static ITextTokenizer Load(string modelFolder)
    {
        if (!File.Exists(Path.Combine(modelFolder, "tokenizer.json")))
        {
            throw new FileNotFoundException($"No tokenizer.json in '{modelFolder}'.");
        }

        return new ByteLevelNoMerges();
    }

    private sealed class ByteLevelNoMerges : ITextTokenizer
    {
        public int EosTokenId => 256;

        public int PadTokenId => 256;

        public IReadOnlyList<int> Encode(string text) => Encoding.UTF8.GetBytes(text).Select(b => (int)b).ToArray();

        public string Decode(IEnumerable<int> ids) => Encoding.UTF8.GetString(ids.Where(i => i < 256).Select(i => (byte)i).ToArray());
    }
}
