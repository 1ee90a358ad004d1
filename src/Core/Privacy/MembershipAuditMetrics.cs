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
        var point = Figures(scores.Members, scores.NonMembers);
        // The draws come from one seeded sequence, in order; the figures of the resamples are then computed in
        // parallel (each resample's own arrays), so the intervals do not depend on the thread count.
        var resampled = new double[bootstrap.Resamples][];
        var random = new Random(bootstrap.Seed);
        var draws = new (double[] Members, double[] NonMembers)[bootstrap.Resamples];
        for (var b = 0; b < draws.Length; b++)
        {
            var m = new double[scores.Members.Count];
            var n = new double[scores.NonMembers.Count];
            Resample(scores.Members, m, random);
            Resample(scores.NonMembers, n, random);
            draws[b] = (m, n);
        }

        Parallel.For(0, draws.Length, b => resampled[b] = Figures(draws[b].Members, draws[b].NonMembers));

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

    private static double[] Figures(IReadOnlyList<double> members, IReadOnlyList<double> nonMembers)
    {
        // One sort per (re)sample serves both the curve and the rank-sum AUROC.
        var groups = ScoreTieGroups.Ascending(members, nonMembers);
        var curve = RocCurve.FromGroups(groups, members.Count, nonMembers.Count);
        return
        [
            RocMetrics.Auroc(groups, members.Count, nonMembers.Count),
            RocMetrics.TruePositiveRateAt(curve, LowFpr),
            RocMetrics.TruePositiveRateAt(curve, VeryLowFpr),
            RocMetrics.FalsePositiveRateAt(curve, HighTpr),
            RocMetrics.BestBalancedAccuracy(curve),
        ];
    }

    private static void Resample(IReadOnlyList<double> source, double[] target, Random random)
    {
        for (var i = 0; i < target.Length; i++)
        {
            target[i] = source[random.Next(source.Count)];
        }
    }
}
