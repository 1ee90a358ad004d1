using System.Globalization;
using System.Text;
using FedTune.Core.Protocol;

namespace FedTune.Orchestration.Orchestrators;

/// <summary>Whether a round has enough uploads to aggregate (min_fit_clients), and why not.</summary>
public static class QuorumRules
{
    public static QuorumDecision Evaluate(IReadOnlyList<HospitalRoundOutcome> outcomes, int minFitClients)
    {
        ArgumentNullException.ThrowIfNull(outcomes);
        int uploaded = outcomes.Count(o => o.State == HospitalRoundState.Uploaded);
        return new QuorumDecision(uploaded >= minFitClients, uploaded, minFitClients,
            outcomes.Where(o => o.State == HospitalRoundState.Straggler).Select(o => o.HospitalId).ToArray(),
            outcomes.Where(o => o.State == HospitalRoundState.Failed)
                .Select(o => new RoundExclusion(o.HospitalId, o.ReasonCode ?? FailureReasons.TrainingError, o.Message ?? "")).ToArray());
    }
}

public sealed record QuorumDecision(bool Met, int Uploaded, int MinFitClients, IReadOnlyList<string> Stragglers,
    IReadOnlyList<RoundExclusion> Failed)
{
    /// <summary>One bounded sentence: a few hospitals by name, or counts per reason and the first few (<see cref="ExclusionSummary"/>).</summary>
    public string Explain(string runId, int round, int attempt)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture,
            $"Run {runId} round {round} (attempt {attempt + 1}) got {Uploaded} upload(s) but min_fit_clients is {MinFitClients}.");
        if (Stragglers.Count > 0) text.Append(" Missed the deadline: ").Append(ExclusionSummary.Names(Stragglers)).Append('.');
        if (Failed.Count > 0) text.Append(" Failed: ").Append(ExclusionSummary.Describe(Failed)).Append('.');
        if (Failed.Count > ExclusionSummary.Listed)
        {
            text.Append(CultureInfo.InvariantCulture,
                $" Each hospital's reason is in its container (hospital-<id>) under {BlobLayout.HospitalRoundFolder(runId, round, attempt)}: failed.json or update/manifest.json.");
        }
        return text.ToString();
    }
}
