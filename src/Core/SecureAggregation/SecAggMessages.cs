namespace FedTune.Core.SecureAggregation;

/// <summary>
/// A round's secure-aggregation setup, fixed by the orchestrator and read by every party: who takes part, how many
/// shares recover a secret (<see cref="Threshold"/>), how many neighbours each party masks with (<see cref="Degree"/>,
/// SecAgg+; n - 1 is classic SecAgg's complete graph) and the label that separates this round's keys from any other's.
/// </summary>
public sealed record SecAggSetup
{
    /// <summary>Domain separation for key derivation: run, round and attempt.</summary>
    public required string RoundLabel { get; init; }
    /// <summary>Shares needed to recover a party's secrets; also the fewest survivors the round can finish with.</summary>
    public required int Threshold { get; init; }
    /// <summary>Neighbours per party in the masking graph (even; n - 1 or more: every pair).</summary>
    public required int Degree { get; init; }
}

/// <summary>A party's two public keys for the round (SubjectPublicKeyInfo DER, P-256): one for share encryption, one for masks.</summary>
public sealed record SecAggPublicKeys(string Party, byte[] CipherKey, byte[] MaskKey);

/// <summary>A share bundle from one party to one neighbour, encrypted (AES-GCM) under their pairwise cipher key; the server only routes it.</summary>
public sealed record SecAggEncryptedShare(string From, string To, byte[] Nonce, byte[] Ciphertext, byte[] Tag);

/// <summary>A party's masked, fixed-point-encoded input.</summary>
public sealed record SecAggMaskedInput(string Party, ulong[] Values);

/// <summary>One Shamir share of <see cref="Owner"/>'s secret, revealed by a survivor.</summary>
public sealed record SecAggRevealedShare(string Owner, byte X, byte[] Y);

/// <summary>
/// A survivor's answer in the unmasking step: shares of each dropped party's mask private key, and shares of each
/// survivor's self-mask seed; never both for one party (that would reveal the party's input).
/// </summary>
public sealed record SecAggReveal(string From, IReadOnlyList<SecAggRevealedShare> MaskKeyShares, IReadOnlyList<SecAggRevealedShare> SelfMaskShares);
