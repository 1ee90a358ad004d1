using FedTune.Orchestration.Orchestrators;

namespace FedTune.Orchestration.Status;

/// <summary>
/// The federation's custom status (what the status API shows): phase, round, per-hospital state, recent
/// metrics and DP epsilon. Kept well under the 16 KB custom-status limit: per-hospital states are listed only
/// for rounds with at most <see cref="MaxListedHospitals"/> selected hospitals (counts are always there).
/// </summary>
public sealed record FederationStatus
{
    public const int MaxListedHospitals = 100;
    public const int MaxHistory = 10;

    public required string RunId { get; init; }
    public required string Phase { get; init; }
    public required int Round { get; init; }
    public required int TotalRounds { get; init; }
    public int Attempt { get; init; }
    public required HospitalCounts Counts { get; init; }
    public IReadOnlyDictionary<string, string>? Hospitals { get; init; }
    public IReadOnlyList<RoundSummary> RecentRounds { get; init; } = [];
    public double? Epsilon { get; init; }
    public string? GlobalAdapterSha256 { get; init; }
    public string? Message { get; init; }
}

public sealed record HospitalCounts(int Selected, int Pending, int Uploaded, int Failed, int Stragglers);

/// <summary>Phases shown in <see cref="FederationStatus.Phase"/>.</summary>
public static class FederationPhases
{
    public const string Starting = "starting";
    public const string Training = "training";
    public const string Aggregating = "aggregating";
    public const string Checkpointing = "checkpointing";
    public const string RetryingRound = "retrying_round";
    public const string Completed = "completed";
}
