namespace FedTune.Core.Privacy;

/// <summary>
/// Attack scores for known members (records the model trained on) and known non-members (held-out records from the
/// same distribution). Every score is oriented so that a HIGHER score means "more likely a member".
/// </summary>
public sealed class MembershipScores
{
    public MembershipScores(IReadOnlyList<double> members, IReadOnlyList<double> nonMembers)
    {
        ArgumentNullException.ThrowIfNull(members);
        ArgumentNullException.ThrowIfNull(nonMembers);
        if (members.Count == 0 || nonMembers.Count == 0)
        {
            throw new ArgumentException(
                $"A membership audit needs at least one member and one non-member score (got {members.Count} members, " +
                $"{nonMembers.Count} non-members): give both a training-records file and a held-out records file.");
        }

        Check(members, "member");
        Check(nonMembers, "non-member");
        Members = members.ToArray();
        NonMembers = nonMembers.ToArray();
    }

    public IReadOnlyList<double> Members { get; }

    public IReadOnlyList<double> NonMembers { get; }

    private static void Check(IReadOnlyList<double> scores, string kind)
    {
        for (var i = 0; i < scores.Count; i++)
        {
            if (!double.IsFinite(scores[i]))
            {
                throw new ArgumentException(
                    $"The {kind} score at index {i} is {scores[i]}: attack scores must be finite numbers " +
                    "(a NaN usually means a record with no scored tokens; drop empty records before scoring).");
            }
        }
    }
}
