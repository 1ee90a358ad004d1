using System.Globalization;

namespace FedTune.Core.Privacy;

/// <summary>
/// Runs every attack on the token log-probabilities of members and non-members under one target model, optionally
/// with the same records under a reference model (for the reference-calibrated loss).
/// </summary>
public static class MembershipAttackSuite
{
    public static IReadOnlyList<AttackResult> Evaluate(
        IReadOnlyList<TokenLogProbabilities> members,
        IReadOnlyList<TokenLogProbabilities> nonMembers,
        IReadOnlyList<TokenLogProbabilities>? referenceMembers = null,
        IReadOnlyList<TokenLogProbabilities>? referenceNonMembers = null,
        BootstrapOptions? bootstrap = null)
    {
        ArgumentNullException.ThrowIfNull(members);
        ArgumentNullException.ThrowIfNull(nonMembers);
        if ((referenceMembers is null) != (referenceNonMembers is null))
        {
            throw new ArgumentException("Give reference scores for both members and non-members, or for neither.");
        }

        if (referenceMembers is not null && (referenceMembers.Count != members.Count || referenceNonMembers!.Count != nonMembers.Count))
        {
            throw new ArgumentException(
                $"The reference model scored {referenceMembers.Count}/{referenceNonMembers!.Count} records but the target " +
                $"{members.Count}/{nonMembers.Count}: both must score the same records in the same order.");
        }

        var results = new List<AttackResult>
        {
            Run("loss", MembershipAttack.Loss, null, true, members.Select(AttackScoring.Loss), nonMembers.Select(AttackScoring.Loss), bootstrap),
        };
        if (referenceMembers is not null)
        {
            results.Add(Run(
                "ref-loss", MembershipAttack.ReferenceCalibratedLoss, null, true,
                members.Select((t, i) => AttackScoring.ReferenceCalibratedLoss(t, referenceMembers[i])),
                nonMembers.Select((t, i) => AttackScoring.ReferenceCalibratedLoss(t, referenceNonMembers![i])),
                bootstrap));
        }

        results.Add(Run("zlib", MembershipAttack.Zlib, null, true, members.Select(AttackScoring.Zlib), nonMembers.Select(AttackScoring.Zlib), bootstrap));
        foreach (var k in AttackScoring.MinKFractions)
        {
            var headline = k == AttackScoring.DefaultMinKFraction;
            results.Add(Run(
                $"min-k {Percent(k)}", MembershipAttack.MinK, k, headline,
                members.Select(t => AttackScoring.MinK(t, k)), nonMembers.Select(t => AttackScoring.MinK(t, k)), bootstrap));
        }

        if (members.All(HasStatistics) && nonMembers.All(HasStatistics))
        {
            foreach (var k in AttackScoring.MinKFractions)
            {
                var headline = k == AttackScoring.DefaultMinKFraction;
                results.Add(Run(
                    $"min-k++ {Percent(k)}", MembershipAttack.MinKPlusPlus, k, headline,
                    members.Select(t => AttackScoring.MinKPlusPlus(t, k)), nonMembers.Select(t => AttackScoring.MinKPlusPlus(t, k)), bootstrap));
            }
        }

        return results;
    }

    private static bool HasStatistics(TokenLogProbabilities t) =>
        t.ExpectedLogProbabilities.Length == t.TokenCount && t.LogProbabilityVariances.Length == t.TokenCount;

    private static string Percent(double fraction) => string.Create(CultureInfo.InvariantCulture, $"{fraction * 100:0}%");

    private static AttackResult Run(
        string name, MembershipAttack attack, double? fraction, bool headline,
        IEnumerable<double> memberScores, IEnumerable<double> nonMemberScores, BootstrapOptions? bootstrap)
    {
        var scores = new MembershipScores(memberScores.ToArray(), nonMemberScores.ToArray());
        return new AttackResult(name, attack, fraction, headline, MembershipAuditMetrics.Evaluate(scores, bootstrap), RocCurve.Compute(scores));
    }
}
