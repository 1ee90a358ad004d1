using System.Security.Cryptography;

namespace FedTune.Core.Adapters;

/// <summary>SHA-256 of adapter wire bytes, as lowercase hex (the form written into update manifests).</summary>
public static class AdapterHash
{
    public static string Sha256(ReadOnlySpan<byte> wireBytes) => Convert.ToHexStringLower(SHA256.HashData(wireBytes));

    /// <summary>Hashes a stream from its current position to its end.</summary>
    public static string Sha256(Stream wireStream) => Convert.ToHexStringLower(SHA256.HashData(wireStream));

    /// <summary>Hashes the adapter's wire form (without extra metadata).</summary>
    public static string Sha256(LoraAdapter adapter) => Sha256(AdapterWireFormat.ToBytes(adapter));

    /// <summary>Constant-time comparison of two hex digests (case-insensitive).</summary>
    public static bool Matches(string expectedHex, string actualHex)
    {
        ArgumentNullException.ThrowIfNull(expectedHex);
        ArgumentNullException.ThrowIfNull(actualHex);
        return CryptographicOperations.FixedTimeEquals(
            System.Text.Encoding.ASCII.GetBytes(expectedHex.ToLowerInvariant()),
            System.Text.Encoding.ASCII.GetBytes(actualHex.ToLowerInvariant()));
    }
}
