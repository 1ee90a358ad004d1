using FedTune.Cli.Simulation;
using FedTune.Core.Protocol;

namespace FedTune.Cli.Reporting;

/// <summary>
/// A run's <see cref="RunReport"/> rebuilt from Blob Storage alone (<c>fedtune report</c>): the orchestrator's round
/// records and the agents' manifests give every round's hospitals, bytes, timings and ε; the evaluator's records
/// (when the run had one, as <c>fedtune simulate</c> does) give the global held-out curve, the settings and the base
/// model. A deployed run without an evaluator gets the settings its round tasks state and no global curve.
/// </summary>
public static class StoredRunReport
{
    public static async Task<RunReport> ReadAsync(BlobStore store, string runId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        BlobLayout.ValidateRunId(runId);
        var rounds = await RecordedRoundsAsync(store, runId, cancellationToken).ConfigureAwait(false);
        if (rounds.Count == 0)
        {
            throw new InvalidDataException(
                $"Run {runId} has no round records in this storage (nothing under {BlobLayout.GlobalContainer}/{BlobLayout.RoundRecordFolder(runId)}). " +
                "Fix: check --run-id (GET /api/runs lists the runs) and that --storage is the run's storage account, and wait for its first round.");
        }

        var collector = new RoundCollector(store, runId);
        var reports = new List<RoundReport>();
        RoundRecord? first = null, last = null;
        long previousGlobalBytes = 0;
        foreach (int round in rounds)
        {
            var record = await collector.TryReadAsync(round, cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidDataException($"The round {round} record of run {runId} disappeared while it was read. Fix: run the command again.");
            first ??= record;
            last = record;
            var global = await StoredEvaluations.ReadAsync(store, runId, round, cancellationToken).ConfigureAwait(false);
            reports.Add(await collector.ToReportAsync(record, previousGlobalBytes, global, cancellationToken).ConfigureAwait(false));
            previousGlobalBytes = record.GlobalAdapter?.Bytes ?? previousGlobalBytes;
        }

        var task = await FirstTaskAsync(store, first!, cancellationToken).ConfigureAwait(false);
        var setup = await StoredEvaluations.ReadSetupAsync(store, runId, cancellationToken).ConfigureAwait(false);
        int totalRounds = task?.TotalRounds ?? setup?.Settings.Rounds ?? last!.Round;
        return new RunReport
        {
            RunId = runId,
            StartedUtc = setup?.StartedUtc ?? first!.RoundStartedUtc,
            FinishedUtc = last!.AggregatedUtc,
            Outcome = last.Round >= totalRounds ? RunOutcome.Completed : RunOutcome.Running,
            Settings = setup?.Settings ?? SettingsFromTask(task, first!, reports, totalRounds),
            BaseModel = setup?.BaseModel ?? new BaseModelInfo(task?.Recipe.BaseModel ?? "not recorded", "config", "not recorded in storage"),
            BaseEval = await StoredEvaluations.ReadAsync(store, runId, 0, cancellationToken).ConfigureAwait(false),
            Rounds = reports,
        };
    }

    private static RunSettings SettingsFromTask(RoundTask? task, RoundRecord first, List<RoundReport> rounds, int totalRounds) => new()
    {
        Hospitals = rounds.SelectMany(r => r.Hospitals).Select(h => h.HospitalId).Distinct(StringComparer.Ordinal).Count(),
        Rounds = totalRounds,
        MaxStepsPerRound = task?.Recipe.MaxSteps ?? 0,
        SeqLength = task?.Recipe.SeqLength ?? 0,
        BatchSize = task?.Recipe.BatchSize ?? 0,
        LearningRate = task?.Recipe.LearningRate ?? 0,
        Partitioning = "each hospital's own data",
        Seed = null,
        EvalExamples = null,
        DataPath = "not recorded in storage (each hospital trains on its own files)",
        Strategy = first.Strategy,
    };

    private static async Task<RoundTask?> FirstTaskAsync(BlobStore store, RoundRecord first, CancellationToken cancellationToken)
    {
        foreach (var hospital in first.Selected)
        {
            var task = await store.TryReadJsonAsync<RoundTask>(BlobLayout.RoundTask(first.RunId, first.Round, hospital, first.Attempt), cancellationToken)
                .ConfigureAwait(false);
            if (task is not null) return task;
        }
        return null;
    }

    private static async Task<SortedSet<int>> RecordedRoundsAsync(BlobStore store, string runId, CancellationToken cancellationToken)
    {
        var folder = BlobLayout.RoundRecordFolder(runId);
        var rounds = new SortedSet<int>();
        await foreach (var name in store.ListNamesAsync(BlobLayout.GlobalContainer, folder, cancellationToken).ConfigureAwait(false))
        {
            var parts = name[folder.Length..].Split('/');
            if (parts.Length == 2 && parts[1] == "record.json" && BlobLayout.ParseRoundSegment(parts[0]) is int round) rounds.Add(round);
        }
        return rounds;
    }
}
