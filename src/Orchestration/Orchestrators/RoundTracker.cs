using FedTune.Orchestration.Status;

namespace FedTune.Orchestration.Orchestrators;

/// <summary>Per-hospital state of the round in progress, for the custom status.</summary>
internal sealed class RoundTracker
{
    private readonly SortedDictionary<string, HospitalRoundState> _states = new(StringComparer.Ordinal);

    public RoundTracker(IEnumerable<string> selected)
    {
        foreach (var hospital in selected) _states[hospital] = HospitalRoundState.Pending;
    }

    public void Record(HospitalRoundOutcome outcome) => _states[outcome.HospitalId] = outcome.State;

    public HospitalCounts Counts() => new(
        _states.Count,
        _states.Values.Count(s => s == HospitalRoundState.Pending),
        _states.Values.Count(s => s == HospitalRoundState.Uploaded),
        _states.Values.Count(s => s == HospitalRoundState.Failed),
        _states.Values.Count(s => s == HospitalRoundState.Straggler));

    public IReadOnlyDictionary<string, string>? States(int max) =>
        _states.Count > max ? null : _states.ToDictionary(p => p.Key, p => p.Value.ToString().ToLowerInvariant(), StringComparer.Ordinal);
}
