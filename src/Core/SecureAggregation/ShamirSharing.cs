using System.Security.Cryptography;

namespace FedTune.Core.SecureAggregation;

/// <summary>One Shamir share: the evaluation point x (1..255) and the polynomial values, one per secret byte.</summary>
public sealed record ShamirShare(byte X, byte[] Y);

/// <summary>
/// Shamir t-of-n secret sharing (Shamir 1979) byte-wise over GF(2^8) with the AES polynomial x^8+x^4+x^3+x+1:
/// any <c>threshold</c> shares give the secret back by Lagrange interpolation at 0; fewer reveal nothing about it.
/// </summary>
public static class ShamirSharing
{
    private static readonly byte[] Exp = new byte[512];
    private static readonly byte[] Log = new byte[256];

#pragma warning disable CA1810 // the tables are filled by a loop
    static ShamirSharing()
    {
        int value = 1;
        for (var i = 0; i < 255; i++)
        {
            Exp[i] = (byte)value;
            Log[value] = (byte)i;
            value ^= value << 1; // multiply by the generator 3
            if ((value & 0x100) != 0)
            {
                value ^= 0x11b;
            }
        }

        for (var i = 255; i < 512; i++)
        {
            Exp[i] = Exp[i - 255];
        }
    }
#pragma warning restore CA1810

    /// <summary>Splits <paramref name="secret"/> into shares at x = 1..<paramref name="shares"/>; any <paramref name="threshold"/> recover it.</summary>
    public static ShamirShare[] Split(ReadOnlySpan<byte> secret, int threshold, int shares)
    {
        if (threshold < 1 || shares < threshold || shares > 255)
        {
            throw new ArgumentOutOfRangeException(nameof(threshold), $"Shamir needs 1 <= threshold ({threshold}) <= shares ({shares}) <= 255.");
        }

        var coefficients = new byte[threshold - 1, secret.Length];
        var random = RandomNumberGenerator.GetBytes((threshold - 1) * secret.Length);
        Buffer.BlockCopy(random, 0, coefficients, 0, random.Length);
        var result = new ShamirShare[shares];
        for (var s = 0; s < shares; s++)
        {
            var x = (byte)(s + 1);
            var y = new byte[secret.Length];
            for (var b = 0; b < secret.Length; b++)
            {
                // Horner: ((c_{t-1} x + c_{t-2}) x + ...) x + secret
                byte acc = 0;
                for (var c = threshold - 2; c >= 0; c--)
                {
                    acc = (byte)(Multiply(acc, x) ^ coefficients[c, b]);
                }

                y[b] = (byte)(Multiply(acc, x) ^ secret[b]);
            }

            result[s] = new ShamirShare(x, y);
        }

        return result;
    }

    /// <summary>The secret from at least <paramref name="threshold"/> shares with distinct x.</summary>
    public static byte[] Combine(IReadOnlyList<ShamirShare> shares, int threshold)
    {
        ArgumentNullException.ThrowIfNull(shares);
        var used = shares.DistinctBy(s => s.X).Take(threshold).ToArray();
        if (used.Length < threshold)
        {
            throw new SecureAggregationException($"{used.Length} distinct share(s) cannot recover a secret that needs {threshold}.");
        }

        var length = used[0].Y.Length;
        if (used.Any(s => s.Y.Length != length || s.X == 0))
        {
            throw new SecureAggregationException("The shares do not belong to one secret (different lengths or x = 0).");
        }

        var secret = new byte[length];
        for (var i = 0; i < used.Length; i++)
        {
            // Lagrange basis at 0: Π_{j≠i} x_j / (x_j - x_i); subtraction is XOR in GF(2^8).
            byte basis = 1;
            for (var j = 0; j < used.Length; j++)
            {
                if (j != i)
                {
                    basis = Multiply(basis, Divide(used[j].X, (byte)(used[j].X ^ used[i].X)));
                }
            }

            for (var b = 0; b < length; b++)
            {
                secret[b] ^= Multiply(used[i].Y[b], basis);
            }
        }

        return secret;
    }

    private static byte Multiply(byte a, byte b) => a == 0 || b == 0 ? (byte)0 : Exp[Log[a] + Log[b]];

    private static byte Divide(byte a, byte b) => a == 0 ? (byte)0 : Exp[Log[a] + 255 - Log[b]];
}
