using System.Text.Json.Nodes;
using FedTune.Orchestration.Api;

namespace FedTune.Orchestration.Dashboard;

/// <summary>
/// What the dashboard page polls for one run: the run's status, the round in progress with each sampled hospital's
/// state, the recipe, and the finished rounds (and global evaluations) newer than the page already has.
/// </summary>
public sealed record DashboardView
{
    public required RunView Run { get; init; }
    /// <summary>The round the orchestrator is working on; null before the first round and once the run has ended.</summary>
    public RoundInProgress? RoundInProgress { get; init; }
    /// <summary>The training recipe the hospitals were sent for the newest round (as its round task states it).</summary>
    public JsonNode? Recipe { get; init; }
    /// <summary>Finished rounds after the page's <c>after_round</c>, oldest first.</summary>
    public required IReadOnlyList<DashboardRound> Rounds { get; init; }
    /// <summary>Global held-out evaluations after the page's <c>after_evaluation</c> (round 0 = the base model).</summary>
    public required IReadOnlyList<DashboardEvaluation> Evaluations { get; init; }
}

public sealed record RoundInProgress(int Round, int Attempt, int TotalRounds, string Phase, IReadOnlyList<DashboardHospital> Hospitals);

/// <summary>A sampled hospital in a round: waiting, training, uploaded, straggler or rejected (with the reason).</summary>
public sealed record DashboardHospital
{
    public required string HospitalId { get; init; }
    public required string State { get; init; }
    public double? TrainLoss { get; init; }
    public long? BytesUp { get; init; }
    public string? Reason { get; init; }
}

/// <summary>One finished round in the numbers the page plots.</summary>
public sealed record DashboardRound
{
    public required int Round { get; init; }
    public required int Attempt { get; init; }
    public required string Strategy { get; init; }
    public required double DurationSeconds { get; init; }
    /// <summary>Adapter bytes the hospitals uploaded.</summary>
    public required long BytesUp { get; init; }
    /// <summary>Global adapter bytes the sampled hospitals downloaded (the previous round's adapter, once each).</summary>
    public required long BytesDown { get; init; }
    /// <summary>Hospital-level DP-FedAvg: ε spent so far (the orchestrator's accountant).</summary>
    public double? DpEpsilon { get; init; }
    /// <summary>Record-level DP-SGD: the largest ε per record any hospital of the round reports having spent so far.</summary>
    public double? RecordEpsilon { get; init; }
    /// <summary>Example-weighted mean of the participants' perplexities on their own held-out splits (as the round record has it).</summary>
    public double? HospitalsHeldOutPerplexity { get; init; }
    public required IReadOnlyList<DashboardHospital> Hospitals { get; init; }
}

public sealed record DashboardEvaluation(int Round, double Perplexity, double MeanNll, long Tokens, string Evaluator);

/// <summary>Dashboard states (the and <c>fedtune simulate</c>'s words).</summary>
public static class DashboardStates
{
    public const string Waiting = "waiting";
    public const string Training = "training";
    public const string Uploaded = "uploaded";
    public const string Straggler = "straggler";
    public const string Rejected = "rejected";
}
