using System.Security.Cryptography;
using System.Text;

namespace FedTune.Core.SecureAggregation;

/// <summary>P-256 ECDH from .NET's cryptography, with HKDF-SHA256 turning a shared point into a purpose-bound 32-byte key.</summary>
public static class KeyAgreement
{
    public const string MaskPurpose = "fedtune secagg pairwise mask";
    public const string CipherPurpose = "fedtune secagg share encryption";

    public static ECDiffieHellman NewKey() => ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);

    public static byte[] PublicKey(ECDiffieHellman key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return key.ExportSubjectPublicKeyInfo();
    }

    /// <summary>The private scalar (32 bytes): the secret that is Shamir-shared for the mask key.</summary>
    public static byte[] PrivateScalar(ECDiffieHellman key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return key.ExportParameters(includePrivateParameters: true).D!;
    }

    /// <summary>A private key rebuilt from its scalar and its published public key (after Shamir recovery).</summary>
    public static ECDiffieHellman FromScalar(byte[] scalar, byte[] publicKey)
    {
        using var published = ImportPublic(publicKey);
        var q = published.ExportParameters(includePrivateParameters: false).Q;
        var key = ECDiffieHellman.Create();
        try
        {
            key.ImportParameters(new ECParameters { Curve = ECCurve.NamedCurves.nistP256, D = scalar, Q = q });
        }
        catch (CryptographicException e)
        {
            key.Dispose();
            throw new SecureAggregationException("A recovered mask key does not match its published public key; a share was wrong.", e);
        }

        return key;
    }

    /// <summary>The 32-byte key <paramref name="own"/> and the owner of <paramref name="peerPublicKey"/> share for <paramref name="purpose"/>.</summary>
    public static byte[] Derive(ECDiffieHellman own, byte[] peerPublicKey, string purpose, string roundLabel)
    {
        ArgumentNullException.ThrowIfNull(own);
        using var peer = ImportPublic(peerPublicKey);
        var secret = own.DeriveRawSecretAgreement(peer.PublicKey);
        try
        {
            return HKDF.DeriveKey(HashAlgorithmName.SHA256, secret, 32, SHA256.HashData(Encoding.UTF8.GetBytes(roundLabel)),
                Encoding.UTF8.GetBytes(purpose));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(secret);
        }
    }

    private static ECDiffieHellman ImportPublic(byte[] publicKey)
    {
        var key = ECDiffieHellman.Create();
        try
        {
            key.ImportSubjectPublicKeyInfo(publicKey, out _);
            return key;
        }
        catch (CryptographicException e)
        {
            key.Dispose();
            throw new SecureAggregationException("A published secure-aggregation public key is not a P-256 SubjectPublicKeyInfo.", e);
        }
    }
}
