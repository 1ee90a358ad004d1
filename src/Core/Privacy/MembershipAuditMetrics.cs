namespace FedTune.Core.Privacy;

/// <summary>Computes <see cref="AttackMetrics"/> (point values on the full data, percentile-bootstrap intervals).</summary>
public static class MembershipAuditMetrics
{
    public const double LowFpr = 0.01;
    public const double VeryLowFpr = 0.001;
    public const double HighTpr = 0.95;

    public static AttackMetrics Evaluate(MembershipScores scores, BootstrapOptions? bootstrap = null)
    {
        ArgumentNullException.ThrowIfNull(scores);
        bootstrap ??= new BootstrapOptions();
        bootstrap.Validate();
        var pooled = ScoreTieGroups.Ascending(scores.Members, scores.NonMembers);
        var point = Figures(pooled, scores.Members.Count, scores.NonMembers.Count);
        // A resample draws records of the full sample, so its tie groups are the full sample's groups with other counts:
        // each record's group is found once, and a resample only counts its draws per group (no sort per resample).
        // The draws come from one seeded sequence, in order (members, then non-members, resample after resample); the
        // figures of the resamples are then computed in parallel, so the intervals do not depend on the thread count.
        var memberGroups = GroupIndices(scores.Members, pooled);
        var nonMemberGroups = GroupIndices(scores.NonMembers, pooled);
        var random = new Random(bootstrap.Seed);
        var draws = new (int[] Members, int[] NonMembers)[bootstrap.Resamples];
        for (var b = 0; b < draws.Length; b++)
        {
            draws[b] = (Resample(memberGroups, random), Resample(nonMemberGroups, random));
        }

        var resampled = new double[bootstrap.Resamples][];
        Parallel.For(0, draws.Length, b => resampled[b] = Figures(Regroup(pooled, draws[b].Members, draws[b].NonMembers), scores.Members.Count, scores.NonMembers.Count));

        Estimate At(int figure)
        {
            if (resampled.Length == 0)
            {
                return new Estimate(point[figure], point[figure], point[figure]);
            }

            var values = resampled.Select(r => r[figure]).ToArray();
            Array.Sort(values);
            var tail = (1 - bootstrap.ConfidenceLevel) / 2;
            return new Estimate(point[figure], Percentile(values, tail), Percentile(values, 1 - tail));
        }

        return new AttackMetrics(At(0), At(1), At(2), At(3), At(4), scores.Members.Count, scores.NonMembers.Count);
    }

    /// <summary>Linear-interpolated percentile (the "R-7"/NumPy default) of sorted values, <paramref name="q"/> in [0,1].</summary>
    public static double Percentile(IReadOnlyList<double> sorted, double q)
    {
        ArgumentNullException.ThrowIfNull(sorted);
        if (sorted.Count == 0)
        {
            throw new ArgumentException("The percentile of an empty list is undefined.", nameof(sorted));
        }

        var position = q * (sorted.Count - 1);
        var lower = (int)Math.Floor(position);
        var upper = Math.Min(lower + 1, sorted.Count - 1);
        return sorted[lower] + (position - lower) * (sorted[upper] - sorted[lower]);
    }

    private static double[] Figures(List<ScoreTieGroup> groups, int memberCount, int nonMemberCount)
    {
        // One grouping per (re)sample serves both the curve and the rank-sum AUROC.
        var curve = RocCurve.FromGroups(groups, memberCount, nonMemberCount);
        return
        [
            RocMetrics.Auroc(groups, memberCount, nonMemberCount),
            RocMetrics.TruePositiveRateAt(curve, LowFpr),
            RocMetrics.TruePositiveRateAt(curve, VeryLowFpr),
            RocMetrics.FalsePositiveRateAt(curve, HighTpr),
            RocMetrics.BestBalancedAccuracy(curve),
        ];
    }

    /// <summary>The index of each score's group among the full sample's groups (groups are runs of equal scores).</summary>
    private static int[] GroupIndices(IReadOnlyList<double> values, List<ScoreTieGroup> pooled)
    {
        var indices = new int[values.Count];
        for (var i = 0; i < values.Count; i++)
        {
            indices[i] = pooled.BinarySearch(new ScoreTieGroup(values[i], 0, 0), ByScore.Instance);
        }

        return indices;
    }

    /// <summary>The draws' groups: the full sample's groups that were drawn, in order, with the draws counted.</summary>
    private static List<ScoreTieGroup> Regroup(List<ScoreTieGroup> pooled, int[] memberDraws, int[] nonMemberDraws)
    {
        var members = new int[pooled.Count];
        var nonMembers = new int[pooled.Count];
        foreach (var g in memberDraws) members[g]++;
        foreach (var g in nonMemberDraws) nonMembers[g]++;
        var groups = new List<ScoreTieGroup>(pooled.Count);
        for (var g = 0; g < pooled.Count; g++)
        {
            if (members[g] + nonMembers[g] > 0)
            {
                groups.Add(new ScoreTieGroup(pooled[g].Score, members[g], nonMembers[g]));
            }
        }

        return groups;
    }

    private static int[] Resample(int[] source, Random random)
    {
        var target = new int[source.Length];
        for (var i = 0; i < target.Length; i++)
        {
            target[i] = source[random.Next(source.Length)];
        }

        return target;
    }

    private sealed class ByScore : IComparer<ScoreTieGroup>
    {
        public static readonly ByScore Instance = new();

        public int Compare(ScoreTieGroup x, ScoreTieGroup y) => x.Score.CompareTo(y.Score);
    }
}
