using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace FedTune.Core.SecureAggregation;

/// <summary>
/// The pseudorandom generator masks are drawn from: AES-256 in counter mode keyed by a 32-byte seed, read as
/// little-endian 64-bit words. Both ends of a pair expand the same seed to the same mask.
/// </summary>
public static class MaskGenerator
{
    public const int SeedBytes = 32;

    /// <summary><paramref name="length"/> 64-bit words of the stream for <paramref name="seed"/>.</summary>
    public static ulong[] Expand(ReadOnlySpan<byte> seed, int length)
    {
        if (seed.Length != SeedBytes)
        {
            throw new ArgumentException($"A mask seed has {SeedBytes} bytes, not {seed.Length}.", nameof(seed));
        }

        var words = new ulong[length];
        var bytes = MemoryMarshal.AsBytes(words.AsSpan());
        var counters = new byte[(bytes.Length + 15) / 16 * 16];
        for (var block = 0; block < counters.Length / 16; block++)
        {
            BitConverter.TryWriteBytes(counters.AsSpan(block * 16, 8), (long)block);
        }

        using var aes = Aes.Create();
        aes.Key = seed.ToArray();
        var stream = aes.EncryptEcb(counters, PaddingMode.None);
        stream.AsSpan(0, bytes.Length).CopyTo(bytes);
        if (!BitConverter.IsLittleEndian)
        {
            for (var i = 0; i < words.Length; i++)
            {
                words[i] = System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(words[i]);
            }
        }

        return words;
    }
}
