using System.Text;
using FedTune.Training.Data;

namespace FedTune.Training.Tests.Trainer;

/// <summary>UTF-8 bytes shifted by 2 (0 = pad, 1 = EOS): a real, reversible tokenizer small enough for unit tests.</summary>
internal sealed class ByteTokenizer : ITextTokenizer
{
    public int EosTokenId => 1;

    public int PadTokenId => 0;

    public IReadOnlyList<int> Encode(string text) => Encoding.UTF8.GetBytes(text).Select(b => b + 2).ToArray();

    public string Decode(IEnumerable<int> ids) => Encoding.UTF8.GetString(ids.Where(i => i >= 2).Select(i => (byte)(i - 2)).ToArray());
}
