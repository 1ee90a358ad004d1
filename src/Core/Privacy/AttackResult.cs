namespace FedTune.Core.Privacy;

/// <summary>
/// One attack's outcome on one model. <see cref="Name"/> is stable and printable ("loss", "ref-loss", "zlib",
/// "min-k 20%", "min-k++ 20%"); <see cref="Headline"/> marks the attacks shown in the summary table (the Min-K% sweep
/// at k ≠ 20% is kept for the JSON only).
/// </summary>
public sealed record AttackResult(
    string Name,
    MembershipAttack Attack,
    double? Fraction,
    bool Headline,
    AttackMetrics Metrics,
    RocCurve Curve);
