namespace FedTune.Core.Privacy;

/// <summary>A run of equal attack scores in the pooled, sorted member and non-member scores.</summary>
internal readonly record struct ScoreTieGroup(double Score, int Members, int NonMembers)
{
    public int Size => Members + NonMembers;
}

/// <summary>
/// Member and non-member scores pooled, sorted ascending and grouped into runs of equal score: the one sweep that both
/// the ROC curve (read from the highest group down) and the rank-sum AUROC (mid-ranks, from the lowest group up) walk.
/// </summary>
internal static class ScoreTieGroups
{
    public static List<ScoreTieGroup> Ascending(IReadOnlyList<double> members, IReadOnlyList<double> nonMembers)
    {
        var labelled = new (double Score, bool Member)[members.Count + nonMembers.Count];
        var k = 0;
        foreach (var s in members)
        {
            labelled[k++] = (s, true);
        }

        foreach (var s in nonMembers)
        {
            labelled[k++] = (s, false);
        }

        Array.Sort(labelled, static (a, b) => a.Score.CompareTo(b.Score));
        var groups = new List<ScoreTieGroup>();
        var i = 0;
        while (i < labelled.Length)
        {
            var score = labelled[i].Score;
            int groupMembers = 0, groupNonMembers = 0;
            while (i < labelled.Length && labelled[i].Score == score)
            {
                if (labelled[i].Member)
                {
                    groupMembers++;
                }
                else
                {
                    groupNonMembers++;
                }

                i++;
            }

            groups.Add(new ScoreTieGroup(score, groupMembers, groupNonMembers));
        }

        return groups;
    }
}
