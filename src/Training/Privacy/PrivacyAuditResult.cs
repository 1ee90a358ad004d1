using FedTune.Core.Privacy;

namespace FedTune.Training.Privacy;

/// <summary>
/// A whole audit: one <see cref="ModelAuditResult"/> per model (the base model first when included), the numbers of
/// records scored, and what was dropped (records without scored tokens, canary records among members, non-members
/// that also appear among members).
/// </summary>
public sealed record PrivacyAuditResult(
    IReadOnlyList<ModelAuditResult> Models,
    int MemberCount,
    int NonMemberCount,
    int DroppedRecords,
    BootstrapOptions Bootstrap,
    IReadOnlyList<string> MembersFiles,
    IReadOnlyList<string> NonMembersFiles)
{
    public const string JsonFileName = "privacy-audit.json";
    public const string MarkdownFileName = "privacy-audit.md";
}
