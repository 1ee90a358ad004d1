using FedTune.Cli.Reporting;

namespace FedTune.Cli.Simulation;

/// <summary>One hospital's live state in the current round.</summary>
/// <param name="State">The round's outcome for this hospital as the orchestrator recorded it (waiting until the round closes).</param>
/// <param name="Activity">What the hospital's agent itself last reported for this round ("training step 4/10", "uploading", ...); null before it reports.</param>
public sealed record HospitalStatus(string HospitalId, HospitalRoundState State, double? Loss, DateTimeOffset Since, string? Activity = null);

/// <summary>An immutable picture of a running simulation, for the progress display.</summary>
public sealed record StatusSnapshot(
    string Stage,
    int Round,
    int TotalRounds,
    IReadOnlyList<HospitalStatus> Hospitals,
    TimeSpan Elapsed,
    EvalMetrics? BaseEval,
    EvalMetrics? LastGlobalEval,
    IReadOnlyList<string>? RecentMessages = null);

/// <summary>The simulation's live state, updated by the run and read by the display (thread-safe).</summary>
public sealed class SimulationStatus
{
    private readonly object _gate = new();
    private readonly TimeProvider _time;
    private readonly DateTimeOffset _started;
    private readonly Dictionary<string, HospitalStatus> _hospitals = new(StringComparer.Ordinal);
    private readonly List<string> _order = [];
    private string _stage = "starting";
    private int _round;
    private int _totalRounds;
    private EvalMetrics? _baseEval;
    private EvalMetrics? _lastGlobal;
    private readonly Queue<string> _messages = new();

    public SimulationStatus(TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        _started = _time.GetUtcNow();
    }

    /// <summary>Raised after every change, with the line a plain (non-terminal) display prints.</summary>
    public event Action<string>? Changed;

    /// <summary>A one-off message (what was chosen and why); shown as a line, and as the caption on a terminal.</summary>
    public void Say(string message)
    {
        lock (_gate)
        {
            _messages.Enqueue(message);
            while (_messages.Count > 6) _messages.Dequeue();
        }
        Changed?.Invoke(message);
    }

    public void SetStage(string stage)
    {
        lock (_gate) _stage = stage;
        Changed?.Invoke(stage);
    }

    public void SetHospitals(IEnumerable<string> ids, int totalRounds)
    {
        lock (_gate)
        {
            _totalRounds = totalRounds;
            foreach (var id in ids)
            {
                if (_hospitals.ContainsKey(id)) continue;
                _order.Add(id);
                _hospitals[id] = new HospitalStatus(id, HospitalRoundState.Waiting, null, _time.GetUtcNow());
            }
        }
    }

    public void StartRound(int round)
    {
        lock (_gate)
        {
            _round = round;
            _stage = FormattableString.Invariant($"round {round} of {_totalRounds}");
            foreach (var id in _order) _hospitals[id] = _hospitals[id] with { State = HospitalRoundState.Waiting, Activity = null, Since = _time.GetUtcNow() };
        }
        Changed?.Invoke(FormattableString.Invariant($"round {round} of {_totalRounds} started"));
    }

    public void SetHospital(string id, HospitalRoundState state, double? loss = null)
    {
        bool changed;
        int round;
        lock (_gate)
        {
            round = _round;
            if (!_hospitals.TryGetValue(id, out var old))
            {
                _order.Add(id);
                old = new HospitalStatus(id, HospitalRoundState.Waiting, null, _time.GetUtcNow());
            }
            changed = old.State != state || (loss is not null && loss != old.Loss);
            // A loss belongs to the state it was reported in: a new state without one shows none (never training's step loss as "uploaded").
            _hospitals[id] = old with { State = state, Activity = null, Loss = loss ?? (old.State == state ? old.Loss : null), Since = old.State != state ? _time.GetUtcNow() : old.Since };
        }
        if (changed)
        {
            var lossText = loss is { } l ? FormattableString.Invariant($" loss {l:F4}") : "";
            Changed?.Invoke(FormattableString.Invariant($"round {round}: {id} {state.ToString().ToLowerInvariant()}{lossText}"));
        }
    }

    /// <summary>What hospital <paramref name="id"/>'s agent reports it is doing in the current round (its own status, not an inference).</summary>
    public void SetAgentActivity(string id, string activity, double? loss = null)
    {
        bool changed;
        int round;
        lock (_gate)
        {
            round = _round;
            if (!_hospitals.TryGetValue(id, out var old))
            {
                _order.Add(id);
                old = new HospitalStatus(id, HospitalRoundState.Waiting, null, _time.GetUtcNow());
            }
            changed = old.Activity != activity;
            _hospitals[id] = old with { Activity = activity, Loss = loss ?? old.Loss, Since = changed ? _time.GetUtcNow() : old.Since };
        }
        if (changed) Changed?.Invoke(FormattableString.Invariant($"round {round}: {id} {activity}"));
    }

    public void SetBaseEval(EvalMetrics eval)
    {
        lock (_gate) _baseEval = eval;
        Changed?.Invoke(FormattableString.Invariant($"base model held-out perplexity {eval.Perplexity:F2} (NLL {eval.MeanNll:F4}, {eval.Tokens} tokens)"));
    }

    public void FinishRound(int round, EvalMetrics? global)
    {
        lock (_gate) _lastGlobal = global ?? _lastGlobal;
        var text = global is null ? "" : FormattableString.Invariant($": global held-out perplexity {global.Perplexity:F2} (NLL {global.MeanNll:F4})");
        Changed?.Invoke(FormattableString.Invariant($"round {round} done{text}"));
    }

    public StatusSnapshot Snapshot()
    {
        lock (_gate)
        {
            return new StatusSnapshot(_stage, _round, _totalRounds, _order.Select(id => _hospitals[id]).ToList(),
                _time.GetUtcNow() - _started, _baseEval, _lastGlobal, [.. _messages]);
        }
    }
}
