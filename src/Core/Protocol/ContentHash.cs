using System.Security.Cryptography;

namespace FedTune.Core.Protocol;

/// <summary>SHA-256 as lowercase hex, the content hash used in blob names and records.</summary>
public static class ContentHash
{
    public static string Compute(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    public static async Task<string> ComputeAsync(Stream stream, CancellationToken cancellationToken = default) =>
        Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false));
}
