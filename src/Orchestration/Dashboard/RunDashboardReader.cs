using System.Text.Json.Nodes;
using Azure;
using Azure.Storage.Blobs.Models;
using FedTune.Core.Protocol;
using FedTune.Orchestration.Api;
using FedTune.Orchestration.Status;

namespace FedTune.Orchestration.Dashboard;

/// <summary>
/// Builds a run's <see cref="DashboardView"/> from what the run leaves in Blob Storage and its status: round records
/// (create-once, so the page asks only for rounds newer than it has), round tasks (the recipe), agents' task locks
/// (a leased lock means the hospital is training), failed-task markers (the reason) and global evaluations.
/// </summary>
public sealed class RunDashboardReader(BlobStore store)
{
    /// <summary>The view of <paramref name="run"/> with the rounds after <paramref name="afterRound"/> and the evaluations after <paramref name="afterEvaluation"/>.</summary>
    public async Task<DashboardView> ReadAsync(RunView run, int afterRound, int afterEvaluation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(run);
        var recorded = await ListRoundsAsync(BlobLayout.RoundRecordFolder(run.RunId), "record.json", cancellationToken).ConfigureAwait(false);
        var rounds = new List<DashboardRound>();
        RoundRecord? previous = null;
        foreach (int round in recorded.Where(r => r >= afterRound))
        {
            var record = await store.TryReadJsonAsync<RoundRecord>(BlobLayout.RoundRecord(run.RunId, round), cancellationToken).ConfigureAwait(false);
            if (record is null) continue;
            if (round > afterRound) rounds.Add(ToRound(record, previous));
            previous = record;
        }

        var evaluations = new List<DashboardEvaluation>();
        var evaluated = await ListRoundsAsync(BlobLayout.GlobalEvaluationFolder(run.RunId), "evaluation.json", cancellationToken).ConfigureAwait(false);
        foreach (int round in evaluated.Where(r => r > afterEvaluation))
        {
            var e = await store.TryReadJsonAsync<GlobalEvaluationRecord>(BlobLayout.GlobalEvaluation(run.RunId, round), cancellationToken).ConfigureAwait(false);
            if (e is not null) evaluations.Add(new DashboardEvaluation(e.Round, e.Perplexity, e.MeanNll, e.Tokens, e.Evaluator));
        }

        var inProgress = await RoundInProgressAsync(run, recorded, cancellationToken).ConfigureAwait(false);
        int recipeRound = inProgress?.Round ?? (recorded.Count > 0 ? recorded.Max : 0);
        string? recipeHospital = inProgress is { Hospitals.Count: > 0 } ? inProgress.Hospitals[0].HospitalId : null;
        int recipeAttempt = inProgress?.Attempt ?? 0;
        if (recipeHospital is null && recorded.Count > 0)
        {
            var last = previous?.Round == recipeRound ? previous
                : await store.TryReadJsonAsync<RoundRecord>(BlobLayout.RoundRecord(run.RunId, recipeRound), cancellationToken).ConfigureAwait(false);
            recipeHospital = last is { Selected.Count: > 0 } ? last.Selected[0] : null;
            recipeAttempt = last?.Attempt ?? 0;
        }
        var recipe = recipeHospital is null ? null : await RecipeAsync(run.RunId, recipeRound, recipeHospital, recipeAttempt, cancellationToken).ConfigureAwait(false);
        return new DashboardView { Run = run, RoundInProgress = inProgress, Recipe = recipe, Rounds = rounds, Evaluations = evaluations };
    }

    private async Task<RoundInProgress?> RoundInProgressAsync(RunView run, SortedSet<int> recorded, CancellationToken cancellationToken)
    {
        if (run.Status is not { } status || run.RuntimeStatus is not ("running" or "pending")) return null;
        if (status.Round < 1 || status.Phase is FederationPhases.Completed or FederationPhases.Starting) return null;
        if (recorded.Contains(status.Round) && status.Phase != FederationPhases.Training && status.Phase != FederationPhases.Aggregating) return null;
        var hospitals = new List<DashboardHospital>();
        foreach (var (id, state) in status.Hospitals ?? new Dictionary<string, string>())
        {
            hospitals.Add(await HospitalAsync(run.RunId, status.Round, status.Attempt, id, state, cancellationToken).ConfigureAwait(false));
        }
        return new RoundInProgress(status.Round, status.Attempt, status.TotalRounds, status.Phase, hospitals);
    }

    private async Task<DashboardHospital> HospitalAsync(string runId, int round, int attempt, string hospitalId, string orchestratorState,
        CancellationToken cancellationToken)
    {
        switch (orchestratorState)
        {
            case "uploaded":
                return new DashboardHospital { HospitalId = hospitalId, State = DashboardStates.Uploaded };
            case "straggler":
                return new DashboardHospital { HospitalId = hospitalId, State = DashboardStates.Straggler, Reason = StragglerReason };
            case "failed":
                var marker = await store.TryReadJsonAsync<FailedTaskMarker>(BlobLayout.FailedTaskMarker(runId, round, hospitalId, attempt), cancellationToken)
                    .ConfigureAwait(false);
                return new DashboardHospital
                {
                    HospitalId = hospitalId,
                    State = DashboardStates.Rejected,
                    Reason = marker is null ? "the hospital's task failed" : $"{marker.ReasonCode}: {marker.Message}",
                };
            default:
                bool training = await IsLeasedAsync(BlobLayout.TaskLock(runId, round, hospitalId, attempt), cancellationToken).ConfigureAwait(false);
                return new DashboardHospital { HospitalId = hospitalId, State = training ? DashboardStates.Training : DashboardStates.Waiting };
        }
    }

    private async Task<bool> IsLeasedAsync(BlobRef lockBlob, CancellationToken cancellationToken)
    {
        try
        {
            var properties = await store.Blob(lockBlob).GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            return properties.Value.LeaseState == LeaseState.Leased;
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return false;
        }
    }

    /// <summary>The round task's recipe, with the round's starting learning rate beside it.</summary>
    private async Task<JsonNode?> RecipeAsync(string runId, int round, string hospitalId, int attempt, CancellationToken cancellationToken)
    {
        var bytes = await store.TryReadAllBytesAsync(BlobLayout.RoundTask(runId, round, hospitalId, attempt), cancellationToken).ConfigureAwait(false);
        if (bytes is null) return null;
        try
        {
            var task = JsonNode.Parse(bytes) as JsonObject;
            if (task?["recipe"]?.DeepClone() is not JsonObject recipe) return null;
            // The round's own starting rate (the recipe's learning_rate is the schedule's peak).
            if (task["learning_rate"] is { } roundRate) recipe["learning_rate_this_round"] = roundRate.DeepClone();
            return recipe;
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }

    private async Task<SortedSet<int>> ListRoundsAsync(string folder, string fileName, CancellationToken cancellationToken)
    {
        var rounds = new SortedSet<int>();
        await foreach (var name in store.ListNamesAsync(BlobLayout.GlobalContainer, folder, cancellationToken).ConfigureAwait(false))
        {
            var parts = name[folder.Length..].Split('/');
            if (parts.Length == 2 && parts[1] == fileName && BlobLayout.ParseRoundSegment(parts[0]) is int round) rounds.Add(round);
        }
        return rounds;
    }

    private const string StragglerReason = "no upload before the round deadline";

    private static DashboardRound ToRound(RoundRecord record, RoundRecord? previous)
    {
        long down = previous?.GlobalAdapter?.Bytes ?? 0;
        var hospitals = new List<DashboardHospital>();
        hospitals.AddRange(record.Participants.Select(p => new DashboardHospital
        {
            HospitalId = p.HospitalId, State = DashboardStates.Uploaded, TrainLoss = p.Metrics.TrainLoss, BytesUp = p.AdapterBytes,
        }));
        hospitals.AddRange(record.Rejected.Concat(record.Failed).Select(e => new DashboardHospital
        {
            HospitalId = e.HospitalId, State = DashboardStates.Rejected, Reason = $"{e.ReasonCode}: {e.Message}",
        }));
        hospitals.AddRange(record.Stragglers.Select(id => new DashboardHospital { HospitalId = id, State = DashboardStates.Straggler, Reason = StragglerReason }));
        return new DashboardRound
        {
            Round = record.Round,
            Attempt = record.Attempt,
            Strategy = record.Strategy,
            DurationSeconds = (record.AggregatedUtc - record.RoundStartedUtc).TotalSeconds,
            BytesUp = record.Participants.Sum(p => p.AdapterBytes),
            BytesDown = down * record.Selected.Count,
            DpEpsilon = record.DpEpsilon,
            RecordEpsilon = record.RecordEpsilon,
            HospitalsHeldOutPerplexity = record.Metrics.HeldOutPerplexity,
            Hospitals = hospitals.OrderBy(h => h.HospitalId, StringComparer.Ordinal).ToList(),
        };
    }
}
