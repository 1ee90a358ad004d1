using FedTune.Core.Privacy;

namespace FedTune.Training.Privacy;

/// <summary>
/// The audit of one model: every attack's figures and ROC curve, the mean token NLL of members and non-members
/// (the generalisation gap the loss attack exploits), and the exposure of each canary.
/// </summary>
public sealed record ModelAuditResult(
    AuditModelSpec Model,
    IReadOnlyList<AttackResult> Attacks,
    double MemberMeanNll,
    double NonMemberMeanNll,
    IReadOnlyList<CanaryExposureResult> Canaries)
{
    public AttackResult Attack(string name) =>
        Attacks.FirstOrDefault(a => a.Name == name)
        ?? throw new KeyNotFoundException($"Model '{Model.Label}' has no attack '{name}'; it has {string.Join(", ", Attacks.Select(a => a.Name))}.");
}
