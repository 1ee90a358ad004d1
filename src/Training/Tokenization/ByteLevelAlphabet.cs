using System.Text;

namespace FedTune.Training.Tokenization;

/// <summary>GPT-2's bytes_to_unicode: every byte gets a printable character so byte-level BPE tokens are strings.</summary>
public static class ByteLevelAlphabet
{
    private static readonly char[] ByteToChar = Build();

    private static char[] Build()
    {
        var map = new char[256];
        int next = 0;
        for (int b = 0; b < 256; b++)
        {
            bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            map[b] = printable ? (char)b : (char)(256 + next++);
        }

        return map;
    }

    /// <summary>The byte-level string of raw token bytes.</summary>
    public static string Encode(ReadOnlySpan<byte> bytes)
    {
        var builder = new StringBuilder(bytes.Length);
        foreach (var b in bytes) builder.Append(ByteToChar[b]);
        return builder.ToString();
    }
}
