using System.Globalization;
using System.Text;

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
            outcomes.Where(o => o.State == HospitalRoundState.Failed).Select(o => $"{o.HospitalId} ({o.ReasonCode}: {o.Message})").ToArray());
    }
}

public sealed record QuorumDecision(bool Met, int Uploaded, int MinFitClients, IReadOnlyList<string> Stragglers, IReadOnlyList<string> Failed)
{
    public string Explain(string runId, int round, int attempt)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture,
            $"Run {runId} round {round} (attempt {attempt + 1}) got {Uploaded} upload(s) but min_fit_clients is {MinFitClients}.");
        if (Stragglers.Count > 0) text.Append(" Missed the deadline: ").AppendJoin(", ", Stragglers).Append('.');
        if (Failed.Count > 0) text.Append(" Failed: ").AppendJoin("; ", Failed).Append('.');
        return text.ToString();
    }
}
