namespace FedTune.Core.Privacy;

/// <summary>
/// The figures reported for one attack on one model, each with a bootstrap confidence interval.
/// FPR figures are rates in [0, 1]; TPR at 1% / 0.1% FPR use the conservative step reading of <see cref="RocMetrics"/>.
/// </summary>
public sealed record AttackMetrics(
    Estimate Auroc,
    Estimate TprAt1PercentFpr,
    Estimate TprAt01PercentFpr,
    Estimate FprAt95PercentTpr,
    Estimate BalancedAccuracy,
    int MemberCount,
    int NonMemberCount)
{
    /// <summary>False when there are fewer than 1,000 non-members, so the 0.1% FPR figure is really the TPR at FPR 0.</summary>
    public bool TprAt01PercentFprResolvable => NonMemberCount >= 1000;
}
