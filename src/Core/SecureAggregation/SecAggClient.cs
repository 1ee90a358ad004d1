using System.Security.Cryptography;
using System.Text;

namespace FedTune.Core.SecureAggregation;

/// <summary>
/// Everything a party keeps between the steps of a secure-aggregation round, so a restarted hospital continues
/// where it stopped (kept in the agent's own work folder, never uploaded). Private keys are PKCS#8 DER.
/// </summary>
public sealed record SecAggClientState
{
    public required string Party { get; init; }
    public required SecAggSetup Setup { get; init; }
    public required byte[] CipherPrivateKey { get; init; }
    public required byte[] MaskPrivateKey { get; init; }
    public required byte[] SelfMaskSeed { get; init; }
    /// <summary>The roster the server announced after key publication (null until then).</summary>
    public IReadOnlyList<SecAggPublicKeys>? Roster { get; init; }
    /// <summary>Shares this party holds of its own and its neighbours' secrets, by owner (null until received).</summary>
    public IReadOnlyDictionary<string, HeldShares>? Held { get; init; }
    /// <summary>The parties whose shares the server routed (U2 in Bonawitz et al.): the only ones this party masks with.</summary>
    public IReadOnlyList<string>? Sharers { get; init; }
    /// <summary>The parties this party was told were dropped, once it revealed (a second, different request is refused).</summary>
    public IReadOnlyList<string>? RevealedFor { get; init; }

    public byte[] ToJson() => Protocol.ProtocolJson.Serialize(this);

    public static SecAggClientState FromJson(byte[] json) => Protocol.ProtocolJson.Deserialize<SecAggClientState>(json, "the saved secure-aggregation state");
}

/// <summary>The two shares a party holds of one owner's secrets: its mask private key and its self-mask seed.</summary>
public sealed record HeldShares(byte X, byte[] MaskKeyShare, byte[] SelfMaskShare);

/// <summary>
/// One hospital's side of secure aggregation by pairwise masking (Bonawitz et al. 2017, "Practical Secure Aggregation
/// for Privacy-Preserving Machine Learning", with SecAgg+'s sparse graph from Bell et al. 2020):
/// <list type="number">
/// <item><see cref="Start"/>: two fresh P-256 key pairs (cipher, mask) and a 32-byte self-mask seed; publish the public keys.</item>
/// <item><see cref="ShareKeys"/>: given the roster, Shamir-split the mask private key and the self-mask seed among
/// itself and its neighbours (t of them recover), each neighbour's shares AES-GCM-encrypted under the pair's cipher key.</item>
/// <item><see cref="Mask"/>: receive the shares sent to it; the masked input is x + PRG(b) + Σ_{v&gt;u} PRG(s_uv) − Σ_{v&lt;u} PRG(s_uv).</item>
/// <item><see cref="Reveal"/>: told who survived, give the mask-key shares of the dropped and the self-mask shares of the survivors.</item>
/// </list>
/// Every method is a pure function of the saved state and its inputs (plus fresh randomness in <see cref="Start"/> and
/// <see cref="ShareKeys"/>), so each step can be redone after a crash from the last saved state.
/// </summary>
public static class SecAggClient
{
    public static (SecAggClientState State, SecAggPublicKeys Published) Start(string party, SecAggSetup setup)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(party);
        ArgumentNullException.ThrowIfNull(setup);
        using var cipher = KeyAgreement.NewKey();
        using var mask = KeyAgreement.NewKey();
        var state = new SecAggClientState
        {
            Party = party,
            Setup = setup,
            CipherPrivateKey = cipher.ExportPkcs8PrivateKey(),
            MaskPrivateKey = mask.ExportPkcs8PrivateKey(),
            SelfMaskSeed = RandomNumberGenerator.GetBytes(MaskGenerator.SeedBytes),
        };
        return (state, new SecAggPublicKeys(party, KeyAgreement.PublicKey(cipher), KeyAgreement.PublicKey(mask)));
    }

    /// <summary>Shares for every neighbour (its own share stays in the returned state).</summary>
    public static (SecAggClientState State, IReadOnlyList<SecAggEncryptedShare> Outgoing) ShareKeys(SecAggClientState state, IReadOnlyList<SecAggPublicKeys> roster)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(roster);
        var byParty = roster.ToDictionary(k => k.Party, StringComparer.Ordinal);
        if (!byParty.TryGetValue(state.Party, out var mine) || !mine.MaskKey.AsSpan().SequenceEqual(PublicMaskKey(state)))
        {
            throw new SecureAggregationException($"The roster for {state.Setup.RoundLabel} does not carry {state.Party}'s own public keys; the server changed them.");
        }

        var graph = NeighbourGraph.Create(byParty.Keys, state.Setup.Degree, state.Setup.RoundLabel);
        var holders = graph.ShareHolders(state.Party);
        if (holders.Count < state.Setup.Threshold)
        {
            throw new SecureAggregationException(
                $"{state.Party} has {holders.Count - 1} neighbour(s) in the roster; with itself that is fewer than the threshold {state.Setup.Threshold}. The round cannot go on.");
        }

        using var mask = ImportPrivate(state.MaskPrivateKey);
        var maskShares = ShamirSharing.Split(KeyAgreement.PrivateScalar(mask), state.Setup.Threshold, holders.Count);
        var seedShares = ShamirSharing.Split(state.SelfMaskSeed, state.Setup.Threshold, holders.Count);
        using var cipher = ImportPrivate(state.CipherPrivateKey);
        var outgoing = new List<SecAggEncryptedShare>();
        for (var i = 1; i < holders.Count; i++)
        {
            var to = holders[i];
            var key = KeyAgreement.Derive(cipher, byParty[to].CipherKey, KeyAgreement.CipherPurpose, state.Setup.RoundLabel);
            var plain = new byte[1 + maskShares[i].Y.Length + seedShares[i].Y.Length];
            plain[0] = maskShares[i].X;
            maskShares[i].Y.CopyTo(plain, 1);
            seedShares[i].Y.CopyTo(plain, 1 + maskShares[i].Y.Length);
            var nonce = RandomNumberGenerator.GetBytes(AesGcm.NonceByteSizes.MaxSize);
            var cipherText = new byte[plain.Length];
            var tag = new byte[AesGcm.TagByteSizes.MaxSize];
            using (var gcm = new AesGcm(key, tag.Length))
            {
                gcm.Encrypt(nonce, plain, cipherText, tag, Associated(state.Party, to, state.Setup.RoundLabel));
            }

            CryptographicOperations.ZeroMemory(plain);
            outgoing.Add(new SecAggEncryptedShare(state.Party, to, nonce, cipherText, tag));
        }

        var held = new Dictionary<string, HeldShares>(StringComparer.Ordinal) { [state.Party] = new(maskShares[0].X, maskShares[0].Y, seedShares[0].Y) };
        return (state with { Roster = roster.OrderBy(k => k.Party, StringComparer.Ordinal).ToArray(), Held = held }, outgoing);
    }

    /// <summary>
    /// Decrypts the shares sent to this party and masks its encoded input with every neighbour in
    /// <paramref name="sharers"/> (the parties that sent their shares, so their masks can be removed if they drop).
    /// </summary>
    public static (SecAggClientState State, SecAggMaskedInput Masked) Mask(SecAggClientState state, IReadOnlyCollection<string> sharers,
        IReadOnlyList<SecAggEncryptedShare> incoming, ReadOnlySpan<ulong> encoded)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(sharers);
        ArgumentNullException.ThrowIfNull(incoming);
        if (!sharers.Contains(state.Party, StringComparer.Ordinal))
        {
            throw new SecureAggregationException($"{state.Party} is not among the round's sharers; the server lost its shares and it cannot take part.");
        }

        var roster = state.Roster?.ToDictionary(k => k.Party, StringComparer.Ordinal)
                     ?? throw new SecureAggregationException($"{state.Party} must share its keys before it masks.");
        var held = new Dictionary<string, HeldShares>(state.Held!, StringComparer.Ordinal);
        using var cipher = ImportPrivate(state.CipherPrivateKey);
        var graph = NeighbourGraph.Create(roster.Keys, state.Setup.Degree, state.Setup.RoundLabel);
        var neighbours = graph.NeighboursOf(state.Party).ToHashSet(StringComparer.Ordinal);
        var maskPeers = neighbours.Where(p => sharers.Contains(p, StringComparer.Ordinal)).Order(StringComparer.Ordinal).ToArray();
        foreach (var share in incoming.Where(s => s.To == state.Party))
        {
            if (!neighbours.Contains(share.From))
            {
                throw new SecureAggregationException($"{state.Party} received shares from {share.From}, which is not its neighbour this round.");
            }

            var key = KeyAgreement.Derive(cipher, roster[share.From].CipherKey, KeyAgreement.CipherPurpose, state.Setup.RoundLabel);
            var plain = new byte[share.Ciphertext.Length];
            try
            {
                using var gcm = new AesGcm(key, share.Tag.Length);
                gcm.Decrypt(share.Nonce, share.Ciphertext, share.Tag, plain, Associated(share.From, state.Party, state.Setup.RoundLabel));
            }
            catch (CryptographicException e)
            {
                throw new SecureAggregationException($"The shares from {share.From} to {state.Party} do not decrypt; they were altered on the way.", e);
            }

            var scalarLength = (plain.Length - 1) / 2;
            held[share.From] = new HeldShares(plain[0], plain[1..(1 + scalarLength)], plain[(1 + scalarLength)..]);
        }

        var masked = encoded.ToArray();
        FixedPointEncoding.AddInto(masked, MaskGenerator.Expand(state.SelfMaskSeed, masked.Length));
        using var maskKey = ImportPrivate(state.MaskPrivateKey);
        foreach (var peer in maskPeers)
        {
            var stream = MaskGenerator.Expand(KeyAgreement.Derive(maskKey, roster[peer].MaskKey, KeyAgreement.MaskPurpose, state.Setup.RoundLabel), masked.Length);
            if (string.CompareOrdinal(state.Party, peer) < 0)
            {
                FixedPointEncoding.AddInto(masked, stream);
            }
            else
            {
                FixedPointEncoding.SubtractFrom(masked, stream);
            }
        }

        return (state with { Held = held, Sharers = sharers.Order(StringComparer.Ordinal).ToArray() }, new SecAggMaskedInput(state.Party, masked));
    }

    /// <summary>
    /// The shares the server needs: mask-key shares of the dropped, self-mask shares of the survivors. Refuses when the
    /// survivors are fewer than the threshold, when a party is named both ways, or when an earlier request named others.
    /// </summary>
    public static (SecAggClientState State, SecAggReveal Reveal) Reveal(SecAggClientState state, IReadOnlyCollection<string> survivors)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(survivors);
        var alive = survivors.ToHashSet(StringComparer.Ordinal);
        if (!alive.Contains(state.Party))
        {
            throw new SecureAggregationException($"{state.Party} is asked to reveal but is not among the survivors; the server's request is inconsistent.");
        }

        if (alive.Count < state.Setup.Threshold)
        {
            throw new SecureAggregationException(
                $"Only {alive.Count} hospital(s) survived but secure aggregation needs {state.Setup.Threshold}; {state.Party} reveals nothing and the round fails.");
        }

        var sharers = state.Sharers ?? throw new SecureAggregationException($"{state.Party} has not masked an input this round.");
        if (alive.FirstOrDefault(p => !sharers.Contains(p, StringComparer.Ordinal)) is { } stranger)
        {
            throw new SecureAggregationException($"The reveal request names {stranger} as a survivor, but it never shared its keys; the request is inconsistent.");
        }

        var dropped = sharers.Where(p => !alive.Contains(p)).Order(StringComparer.Ordinal).ToArray();
        if (state.RevealedFor is { } earlier && !earlier.SequenceEqual(dropped, StringComparer.Ordinal))
        {
            throw new SecureAggregationException(
                $"{state.Party} already revealed for dropped [{string.Join(", ", earlier)}] and is now asked for [{string.Join(", ", dropped)}]; answering both could expose an input.");
        }

        var held = state.Held ?? new Dictionary<string, HeldShares>();
        var maskKeyShares = dropped.Where(held.ContainsKey).Select(p => new SecAggRevealedShare(p, held[p].X, held[p].MaskKeyShare)).ToArray();
        var selfMaskShares = alive.Where(held.ContainsKey).Order(StringComparer.Ordinal).Select(p => new SecAggRevealedShare(p, held[p].X, held[p].SelfMaskShare)).ToArray();
        return (state with { RevealedFor = dropped }, new SecAggReveal(state.Party, maskKeyShares, selfMaskShares));
    }

    /// <summary>The public keys <see cref="Start"/> published (derived again from the saved private keys, e.g. after a restart).</summary>
    public static SecAggPublicKeys PublicKeys(SecAggClientState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        using var cipher = ImportPrivate(state.CipherPrivateKey);
        return new SecAggPublicKeys(state.Party, KeyAgreement.PublicKey(cipher), PublicMaskKey(state));
    }

    private static byte[] PublicMaskKey(SecAggClientState state)
    {
        using var mask = ImportPrivate(state.MaskPrivateKey);
        return KeyAgreement.PublicKey(mask);
    }

    private static ECDiffieHellman ImportPrivate(byte[] pkcs8)
    {
        var key = ECDiffieHellman.Create();
        key.ImportPkcs8PrivateKey(pkcs8, out _);
        return key;
    }

    private static byte[] Associated(string from, string to, string label) => Encoding.UTF8.GetBytes($"{from}\n{to}\n{label}");
}
