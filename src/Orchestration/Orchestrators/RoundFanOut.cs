using FedTune.Core.Protocol;
using FedTune.Orchestration.Plans;
using Microsoft.DurableTask;

namespace FedTune.Orchestration.Orchestrators;

/// <summary>
/// A round's fan-out and fan-in without per-hospital durable machinery: task writes and upload checks go out in
/// chunks of <see cref="FederationPlan.BatchSize"/> hospitals (one activity each, run in parallel), and the round
/// waits on <see cref="TaskNames.UploadArrivedEvent"/> notices (Event Grid in Azure, the upload watcher locally)
/// with one slow durable timer as a safety net that checks every hospital still pending. The history of a round
/// grows with the number of chunks and notices, not with timers per hospital. Deterministic: time and events come
/// from the context only.
/// </summary>
internal static class RoundFanOut
{
    /// <summary>Writes every selected hospital's task (create-once, so a replayed or redelivered chunk changes nothing).</summary>
    public static Task WriteTasksAsync(TaskOrchestrationContext context, FederationPlan plan, int round, int attempt,
        ContentRef globalAdapter, SecureAggregationTask? secure, DateTimeOffset issuedUtc, IReadOnlyList<string> selected)
    {
        var taskPlan = plan with { Hospitals = [] };
        return Task.WhenAll(Chunks(selected, plan.BatchSize).Select(chunk => context.CallActivityAsync<int>(TaskNames.WriteRoundTasks,
            new RoundTaskBatch(taskPlan, round, attempt, globalAdapter, issuedUtc, chunk) { SecureAggregation = secure }, ActivityRetry.Options)));
    }

    /// <summary>
    /// Waits until every selected hospital uploaded, failed or missed the deadline. A notice makes the named pending
    /// hospitals be checked at once; the safety-net timer (first <see cref="MonitorSettings.FirstPoll"/>, backing off to
    /// <see cref="MonitorSettings.MaxPoll"/>) checks all pending ones; at the deadline a last check runs and whoever is
    /// still pending is a straggler. <paramref name="progress"/> is called after each batch of outcomes. With
    /// <paramref name="manifestsAreUploads"/> (rounds without secure aggregation) a hospital whose manifest a notice saw
    /// created is uploaded without a check: the aggregation reads and judges its manifest anyway, so the check would only
    /// cost a storage read and a durable step between the last upload and the aggregation.
    /// </summary>
    public static async Task<List<HospitalRoundOutcome>> CollectAsync(TaskOrchestrationContext context, FederationPlan plan, int round, int attempt,
        IReadOnlyList<string> selected, DateTimeOffset deadlineUtc, bool manifestsAreUploads, Action<IReadOnlyList<HospitalRoundOutcome>> progress)
    {
        var pending = new SortedSet<string>(selected, StringComparer.Ordinal);
        var outcomes = new List<HospitalRoundOutcome>(selected.Count);
        var deadline = deadlineUtc.UtcDateTime;
        var wait = plan.Monitor.FirstPoll;
        using var cancel = new CancellationTokenSource();
        Task<UploadNotice>? notice = null;
        Task? timer = null;
        while (pending.Count > 0)
        {
            var now = context.CurrentUtcDateTime;
            string[] toCheck;
            var uploaded = new SortedSet<string>(StringComparer.Ordinal);
            bool last = now >= deadline;
            if (last)
            {
                toCheck = pending.ToArray();
            }
            else
            {
                notice ??= context.WaitForExternalEvent<UploadNotice>(TaskNames.UploadArrivedEvent, cancel.Token);
                timer ??= context.CreateTimer(MonitorBackoff.NextCheck(now, deadline, wait), cancel.Token);
                if (await Task.WhenAny(notice, timer).ConfigureAwait(true) == notice)
                {
                    var hinted = new SortedSet<string>(StringComparer.Ordinal);
                    Hint(hinted, uploaded, await notice.ConfigureAwait(true), round, attempt, pending, manifestsAreUploads);
                    // Notices that are already buffered are taken now, so a burst of uploads costs one check per chunk.
                    notice = context.WaitForExternalEvent<UploadNotice>(TaskNames.UploadArrivedEvent, cancel.Token);
                    while (notice.IsCompletedSuccessfully)
                    {
                        Hint(hinted, uploaded, notice.Result, round, attempt, pending, manifestsAreUploads);
                        notice = context.WaitForExternalEvent<UploadNotice>(TaskNames.UploadArrivedEvent, cancel.Token);
                    }
                    if (hinted.Count == 0 && uploaded.Count == 0) continue;
                    toCheck = hinted.ToArray();
                }
                else
                {
                    timer = null;
                    wait = MonitorBackoff.Grow(wait, plan.Monitor);
                    toCheck = pending.ToArray();
                }
            }

            IReadOnlyList<HospitalRoundOutcome> found = toCheck.Length == 0 ? [] : await CheckAsync(context, plan, round, attempt, toCheck).ConfigureAwait(true);
            var batch = uploaded.Select(h => new HospitalRoundOutcome { HospitalId = h, State = HospitalRoundState.Uploaded }).Concat(found).ToList();
            if (last)
            {
                var finished = found.Select(f => f.HospitalId).ToHashSet(StringComparer.Ordinal);
                batch.AddRange(pending.Where(h => !finished.Contains(h)).Select(h => Straggler(h, deadlineUtc)));
            }
            foreach (var outcome in batch) pending.Remove(outcome.HospitalId);
            outcomes.AddRange(batch);
            if (batch.Count > 0) progress(batch);
        }
        // Synchronous on purpose: an orchestrator may only await durable tasks (CancelAsync would resume on the thread
        // pool, outside the orchestration's episode). Cancels the safety-net timer and the last notice wait.
#pragma warning disable CA1849
        cancel.Cancel();
#pragma warning restore CA1849
        return outcomes;
    }

    private static async Task<IReadOnlyList<HospitalRoundOutcome>> CheckAsync(TaskOrchestrationContext context, FederationPlan plan, int round, int attempt,
        IReadOnlyList<string> hospitals)
    {
        var checks = Chunks(hospitals, plan.BatchSize).Select(chunk => context.CallActivityAsync<IReadOnlyList<HospitalRoundOutcome>>(TaskNames.CheckUploads,
            new UploadCheckBatch(plan.RunId, round, attempt, chunk), ActivityRetry.Options)).ToArray();
        var results = await Task.WhenAll(checks).ConfigureAwait(true);
        return results.SelectMany(r => r).ToArray();
    }

    private static void Hint(SortedSet<string> hinted, SortedSet<string> uploaded, UploadNotice? notice, int round, int attempt,
        SortedSet<string> pending, bool manifestsAreUploads)
    {
        if (notice == null || notice.Round != round || notice.Attempt != attempt) return;
        var manifests = manifestsAreUploads ? notice.Manifests.ToHashSet(StringComparer.Ordinal) : [];
        foreach (var hospital in notice.Hospitals)
        {
            if (!pending.Contains(hospital) || uploaded.Contains(hospital)) continue;
            if (manifests.Contains(hospital))
            {
                uploaded.Add(hospital);
                hinted.Remove(hospital);
            }
            else
            {
                hinted.Add(hospital);
            }
        }
    }

    private static HospitalRoundOutcome Straggler(string hospital, DateTimeOffset deadlineUtc) => new()
    {
        HospitalId = hospital,
        State = HospitalRoundState.Straggler,
        ReasonCode = FailureReasons.DeadlinePassed,
        Message = $"No upload by the round deadline {deadlineUtc:O}.",
    };

    /// <summary>Consecutive chunks of at most <paramref name="size"/> ids (at least one per chunk).</summary>
    public static IEnumerable<string[]> Chunks(IReadOnlyList<string> ids, int size) => ids.Chunk(Math.Max(1, size));
}

/// <summary>Backoff arithmetic of the safety-net poll (pure, unit-tested).</summary>
public static class MonitorBackoff
{
    /// <summary>When to check next: after <paramref name="wait"/>, but never later than the deadline.</summary>
    public static DateTime NextCheck(DateTime now, DateTime deadline, TimeSpan wait) =>
        now + wait < deadline ? now + wait : deadline;

    /// <summary>The next wait: multiplied by the backoff factor, at most <see cref="MonitorSettings.MaxPoll"/>.</summary>
    public static TimeSpan Grow(TimeSpan wait, MonitorSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var grown = TimeSpan.FromTicks((long)Math.Min(wait.Ticks * Math.Max(1.0, settings.BackoffFactor), settings.MaxPoll.Ticks));
        return grown < settings.FirstPoll ? settings.FirstPoll : grown;
    }
}

/// <summary>Retries for activities hit by transient storage errors (they are idempotent, so retrying is safe).</summary>
internal static class ActivityRetry
{
    public static readonly TaskOptions Options = TaskOptions.FromRetryPolicy(
        new RetryPolicy(maxNumberOfAttempts: 5, firstRetryInterval: TimeSpan.FromSeconds(1), backoffCoefficient: 2.0,
            maxRetryInterval: TimeSpan.FromSeconds(30)));
}
