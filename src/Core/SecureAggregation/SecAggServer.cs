namespace FedTune.Core.SecureAggregation;

/// <summary>What the server learns from a round: the sum of the survivors' encoded inputs, and who they were.</summary>
public sealed record SecAggSum(ulong[] Sum, IReadOnlyList<string> Survivors, IReadOnlyList<string> Dropped);

/// <summary>
/// The orchestrator's side of secure aggregation: it routes public keys and encrypted shares it cannot read, adds
/// the masked inputs it receives, and with the survivors' revealed shares removes exactly the masks that do not
/// cancel: the pairwise masks between survivors and dropped parties (from the dropped parties' recovered mask keys)
/// and every survivor's self mask (from the recovered self-mask seeds). It never sees a single input unmasked.
/// </summary>
public static class SecAggServer
{
    /// <summary>The encrypted shares addressed to <paramref name="party"/>.</summary>
    public static IReadOnlyList<SecAggEncryptedShare> InboxOf(string party, IEnumerable<SecAggEncryptedShare> all) =>
        all.Where(s => s.To == party).OrderBy(s => s.From, StringComparer.Ordinal).ToArray();

    /// <summary>
    /// The unmasked sum of the survivors' inputs. <paramref name="roster"/> is everyone who published keys (the graph
    /// is built over it); <paramref name="sharers"/> those whose shares were routed (the only masking partners);
    /// <paramref name="masked"/> the inputs that arrived (their senders are the survivors); <paramref name="reveals"/>
    /// the survivors' answers. Fails with <see cref="SecureAggregationException"/> when fewer than the threshold survived
    /// or a secret cannot be recovered.
    /// </summary>
    public static SecAggSum Unmask(SecAggSetup setup, IReadOnlyList<SecAggPublicKeys> roster, IReadOnlyCollection<string> sharers,
        IReadOnlyList<SecAggMaskedInput> masked, IReadOnlyList<SecAggReveal> reveals)
    {
        ArgumentNullException.ThrowIfNull(sharers);
        ArgumentNullException.ThrowIfNull(setup);
        ArgumentNullException.ThrowIfNull(roster);
        ArgumentNullException.ThrowIfNull(masked);
        ArgumentNullException.ThrowIfNull(reveals);
        var keys = roster.Where(k => sharers.Contains(k.Party, StringComparer.Ordinal)).ToDictionary(k => k.Party, StringComparer.Ordinal);
        var survivors = masked.Select(m => m.Party).Where(keys.ContainsKey).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        if (survivors.Length < setup.Threshold)
        {
            throw new SecureAggregationException(
                $"Only {survivors.Length} of {roster.Count} hospital(s) uploaded a masked update but secure aggregation needs {setup.Threshold} (the threshold); the round cannot be unmasked. Fix: lower federation.secure_aggregation.threshold or retry the round.");
        }

        var dropped = keys.Keys.Where(p => !survivors.Contains(p, StringComparer.Ordinal)).Order(StringComparer.Ordinal).ToArray();
        var length = masked[0].Values.Length;
        if (masked.Any(m => m.Values.Length != length))
        {
            throw new SecureAggregationException("The masked updates differ in length; the hospitals encoded different adapter shapes.");
        }

        var sum = new ulong[length];
        foreach (var input in masked.Where(m => keys.ContainsKey(m.Party)).DistinctBy(m => m.Party))
        {
            FixedPointEncoding.AddInto(sum, input.Values);
        }

        var answered = reveals.Where(r => survivors.Contains(r.From, StringComparer.Ordinal)).DistinctBy(r => r.From).ToArray();
        var graph = NeighbourGraph.Create(roster.Select(k => k.Party).ToArray(), setup.Degree, setup.RoundLabel);
        foreach (var party in survivors)
        {
            var seed = Recover(party, answered.SelectMany(r => r.SelfMaskShares), setup.Threshold, "self-mask seed");
            FixedPointEncoding.SubtractFrom(sum, MaskGenerator.Expand(seed, length));
        }

        foreach (var party in dropped)
        {
            var scalar = Recover(party, answered.SelectMany(r => r.MaskKeyShares), setup.Threshold, "mask key");
            using var key = KeyAgreement.FromScalar(scalar, keys[party].MaskKey);
            foreach (var peer in graph.NeighboursOf(party).Where(p => survivors.Contains(p, StringComparer.Ordinal)).Order(StringComparer.Ordinal))
            {
                var stream = MaskGenerator.Expand(KeyAgreement.Derive(key, keys[peer].MaskKey, KeyAgreement.MaskPurpose, setup.RoundLabel), length);
                // The survivor added +PRG(s) when it sorts before the dropped party, −PRG(s) otherwise; undo that.
                if (string.CompareOrdinal(peer, party) < 0)
                {
                    FixedPointEncoding.SubtractFrom(sum, stream);
                }
                else
                {
                    FixedPointEncoding.AddInto(sum, stream);
                }
            }
        }

        return new SecAggSum(sum, survivors, dropped);
    }

    private static byte[] Recover(string owner, IEnumerable<SecAggRevealedShare> shares, int threshold, string what)
    {
        var mine = shares.Where(s => s.Owner == owner).Select(s => new ShamirShare(s.X, s.Y)).ToArray();
        if (mine.DistinctBy(s => s.X).Count() < threshold)
        {
            throw new SecureAggregationException(
                $"Only {mine.Length} share(s) of {owner}'s {what} came back but {threshold} are needed; too few of its neighbours survived to finish the round.");
        }

        return ShamirSharing.Combine(mine, threshold);
    }
}
