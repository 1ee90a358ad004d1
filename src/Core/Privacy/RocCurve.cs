namespace FedTune.Core.Privacy;

/// <summary>
/// The empirical ROC curve of a membership attack: one vertex per distinct score (ties are one vertex, so a tie never
/// splits members from non-members), from (0,0) at threshold +infinity to (1,1). Only thresholds that an attacker can
/// actually use are vertices; no randomised mixing between thresholds is assumed.
/// </summary>
public sealed class RocCurve
{
    private RocCurve(IReadOnlyList<RocPoint> points, int memberCount, int nonMemberCount)
    {
        Points = points;
        MemberCount = memberCount;
        NonMemberCount = nonMemberCount;
    }

    /// <summary>Vertices ordered by decreasing threshold (non-decreasing FPR and TPR).</summary>
    public IReadOnlyList<RocPoint> Points { get; }

    public int MemberCount { get; }

    public int NonMemberCount { get; }

    public static RocCurve Compute(MembershipScores scores)
    {
        ArgumentNullException.ThrowIfNull(scores);
        return Compute(scores.Members, scores.NonMembers);
    }

    internal static RocCurve Compute(IReadOnlyList<double> members, IReadOnlyList<double> nonMembers) =>
        FromGroups(ScoreTieGroups.Ascending(members, nonMembers), members.Count, nonMembers.Count);

    /// <summary>The curve of already grouped scores (<see cref="ScoreTieGroups.Ascending"/>), read from the highest group down.</summary>
    internal static RocCurve FromGroups(IReadOnlyList<ScoreTieGroup> groups, int memberCount, int nonMemberCount)
    {
        var points = new List<RocPoint>(groups.Count + 1) { new(0, 0, double.PositiveInfinity) };
        double tp = 0, fp = 0;
        for (var g = groups.Count - 1; g >= 0; g--)
        {
            tp += groups[g].Members;
            fp += groups[g].NonMembers;
            points.Add(new RocPoint(fp / nonMemberCount, tp / memberCount, groups[g].Score));
        }

        return new RocCurve(points, memberCount, nonMemberCount);
    }
}
