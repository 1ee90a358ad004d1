namespace FedTune.Core.Privacy;

/// <summary>
/// Summary figures of a membership attack, computed from its scores or ROC curve.
/// <para>
/// Low-FPR figures are read CONSERVATIVELY off the empirical curve, without interpolation between vertices:
/// TPR at FPR alpha is the highest TPR of a vertex whose FPR is at most alpha (as in Carlini et al. 2022, "Membership
/// Inference Attacks From First Principles"); FPR at TPR beta is the lowest FPR of a vertex whose TPR is at least beta.
/// Linear interpolation would credit the attacker with a randomised threshold it may not have; the step reading
/// never overstates the attack. With n non-members the smallest non-zero FPR is 1/n, so TPR at 0.1% FPR with fewer
/// than 1,000 non-members is the TPR at FPR = 0 (see <see cref="IsResolvable"/>).
/// </para>
/// </summary>
public static class RocMetrics
{
    /// <summary>
    /// Area under the ROC curve as the Mann-Whitney statistic: the probability that a random member outscores a random
    /// non-member, ties counting one half (equal to the trapezoidal area of the tie-grouped curve). 0.5 = guessing.
    /// </summary>
    public static double Auroc(MembershipScores scores)
    {
        ArgumentNullException.ThrowIfNull(scores);
        return Auroc(scores.Members, scores.NonMembers);
    }

    internal static double Auroc(IReadOnlyList<double> members, IReadOnlyList<double> nonMembers) =>
        Auroc(ScoreTieGroups.Ascending(members, nonMembers), members.Count, nonMembers.Count);

    /// <summary>AUROC of already grouped scores (<see cref="ScoreTieGroups.Ascending"/>), from the lowest group up.</summary>
    internal static double Auroc(IReadOnlyList<ScoreTieGroup> groups, int memberCount, int nonMemberCount)
    {
        // Rank-sum form with mid-ranks for ties: U = R_members - m(m+1)/2, AUROC = U / (m n). O((m+n) log(m+n)).
        double memberRankSum = 0;
        var below = 0;
        foreach (var group in groups)
        {
            // Ranks below+1 .. below+size (1-based); the mid-rank is their mean.
            var midRank = (below + 1 + below + group.Size) / 2.0;
            memberRankSum += group.Members * midRank;
            below += group.Size;
        }

        double m = memberCount, n = nonMemberCount;
        return (memberRankSum - m * (m + 1) / 2) / (m * n);
    }

    /// <summary>Highest TPR over curve vertices with FPR &lt;= <paramref name="maxFalsePositiveRate"/> (no interpolation).</summary>
    public static double TruePositiveRateAt(RocCurve curve, double maxFalsePositiveRate)
    {
        ArgumentNullException.ThrowIfNull(curve);
        CheckRate(maxFalsePositiveRate, nameof(maxFalsePositiveRate));
        var best = 0.0;
        foreach (var p in curve.Points)
        {
            if (p.FalsePositiveRate <= maxFalsePositiveRate + 1e-12)
            {
                best = Math.Max(best, p.TruePositiveRate);
            }
        }

        return best;
    }

    /// <summary>Lowest FPR over curve vertices with TPR &gt;= <paramref name="minTruePositiveRate"/> (no interpolation).</summary>
    public static double FalsePositiveRateAt(RocCurve curve, double minTruePositiveRate)
    {
        ArgumentNullException.ThrowIfNull(curve);
        CheckRate(minTruePositiveRate, nameof(minTruePositiveRate));
        var best = 1.0;
        foreach (var p in curve.Points)
        {
            if (p.TruePositiveRate >= minTruePositiveRate - 1e-12)
            {
                best = Math.Min(best, p.FalsePositiveRate);
            }
        }

        return best;
    }

    /// <summary>Best balanced accuracy (TPR + TNR) / 2 over all thresholds; 0.5 = guessing.</summary>
    public static double BestBalancedAccuracy(RocCurve curve)
    {
        ArgumentNullException.ThrowIfNull(curve);
        var best = 0.5;
        foreach (var p in curve.Points)
        {
            best = Math.Max(best, (p.TruePositiveRate + 1 - p.FalsePositiveRate) / 2);
        }

        return best;
    }

    /// <summary>Whether <paramref name="falsePositiveRate"/> is above the curve's FPR resolution 1/nonMembers.</summary>
    public static bool IsResolvable(RocCurve curve, double falsePositiveRate)
    {
        ArgumentNullException.ThrowIfNull(curve);
        return falsePositiveRate * curve.NonMemberCount >= 1;
    }

    private static void CheckRate(double rate, string name)
    {
        if (!(rate >= 0 && rate <= 1))
        {
            throw new ArgumentOutOfRangeException(name, rate, "A rate must be in [0, 1].");
        }
    }
}
