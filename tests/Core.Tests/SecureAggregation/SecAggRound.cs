using FedTune.Core.SecureAggregation;

namespace FedTune.Core.Tests.SecureAggregation;

/// <summary>A whole secure-aggregation round run in memory: every hand-off passes through what a blob would hold.</summary>
internal sealed class SecAggRound
{
    public SecAggRound(IReadOnlyList<string> parties, int threshold, int degree, string label = "run-1/round-1/attempt-0")
    {
        Setup = new SecAggSetup { RoundLabel = label, Threshold = threshold, Degree = degree };
        foreach (var party in parties)
        {
            var (state, published) = SecAggClient.Start(party, Setup);
            States[party] = state;
            Published.Add(published);
        }
    }

    public SecAggSetup Setup { get; }
    public Dictionary<string, SecAggClientState> States { get; } = new(StringComparer.Ordinal);
    public List<SecAggPublicKeys> Published { get; } = [];
    public List<SecAggEncryptedShare> Shares { get; } = [];
    public List<SecAggMaskedInput> Masked { get; } = [];
    public string[] Sharers => Shares.Select(s => s.From).Distinct().Order(StringComparer.Ordinal).ToArray();

    public void ShareKeys()
    {
        foreach (var party in States.Keys.ToArray())
        {
            var (state, outgoing) = SecAggClient.ShareKeys(States[party], Published);
            States[party] = state;
            Shares.AddRange(outgoing);
        }
    }

    public void Mask(string party, ulong[] encoded)
    {
        var (state, masked) = SecAggClient.Mask(States[party], Sharers, SecAggServer.InboxOf(party, Shares), encoded);
        States[party] = state;
        Masked.Add(masked);
    }

    public SecAggSum Unmask(IEnumerable<string>? answering = null)
    {
        var survivors = Masked.Select(m => m.Party).ToArray();
        var reveals = (answering ?? survivors).Select(p =>
        {
            var (state, reveal) = SecAggClient.Reveal(States[p], survivors);
            States[p] = state;
            return reveal;
        }).ToArray();
        return SecAggServer.Unmask(Setup, Published, Sharers, Masked, reveals);
    }
}
