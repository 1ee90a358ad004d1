using System.Security.Cryptography;
using System.Text;

namespace FedTune.Core.SecureAggregation;

/// <summary>
/// The masking graph of SecAgg+ (Bell et al. 2020): parties in a pseudorandom ring order (from the round label), each
/// joined to the <c>degree / 2</c> nearest on either side (a Harary graph). With degree ≥ n - 1 every pair is joined,
/// which is Bonawitz et al.'s original protocol. Every party computes the same graph from the roster and the label.
/// </summary>
public sealed class NeighbourGraph
{
    private readonly Dictionary<string, string[]> _neighbours;

    private NeighbourGraph(Dictionary<string, string[]> neighbours) => _neighbours = neighbours;

    public static NeighbourGraph Create(IReadOnlyCollection<string> parties, int degree, string roundLabel)
    {
        ArgumentNullException.ThrowIfNull(parties);
        var ring = parties.Distinct(StringComparer.Ordinal)
            .OrderBy(p => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(roundLabel + "\n" + p))), StringComparer.Ordinal)
            .ToArray();
        var n = ring.Length;
        var neighbours = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var half = degree >= n - 1 ? n : Math.Max(1, degree / 2);
        for (var i = 0; i < n; i++)
        {
            var set = new SortedSet<string>(StringComparer.Ordinal);
            for (var step = 1; step <= half && step < n; step++)
            {
                set.Add(ring[(i + step) % n]);
                set.Add(ring[(i - step + n) % n]);
            }

            set.Remove(ring[i]);
            neighbours[ring[i]] = set.ToArray();
        }

        return new NeighbourGraph(neighbours);
    }

    /// <summary>The party's neighbours, in ordinal order.</summary>
    public IReadOnlyList<string> NeighboursOf(string party) => _neighbours.TryGetValue(party, out var list)
        ? list
        : throw new SecureAggregationException($"'{party}' is not in this round's secure-aggregation roster.");

    /// <summary>Who holds shares of <paramref name="party"/>'s secrets, with their Shamir x: the party itself, then its neighbours.</summary>
    public IReadOnlyList<string> ShareHolders(string party) => [party, .. NeighboursOf(party)];
}
