using FedTune.Core.Protocol;
using FedTune.Orchestration.Plans;
using Microsoft.DurableTask;

namespace FedTune.Orchestration.Orchestrators;

/// <summary>
/// One hospital's round: write its task, then watch its upload location until the manifest or a failed-task
/// marker appears or the deadline passes. Hospitals never call in: a cheap check activity runs on a durable timer
/// with backoff, and an <see cref="TaskNames.UploadArrivedEvent"/> event (optional) makes the next check immediate.
/// Deterministic: time comes from the orchestration context only.
/// </summary>
public sealed class HospitalRoundOrchestrator : TaskOrchestrator<HospitalRoundInput, HospitalRoundOutcome>
{
    public override async Task<HospitalRoundOutcome> RunAsync(TaskOrchestrationContext context, HospitalRoundInput input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        var task = input.Task;
        await context.CallActivityAsync<bool>(TaskNames.WriteRoundTask, task, ActivityRetry.Options).ConfigureAwait(true);

        var request = new UploadCheckRequest(task.RunId, task.Round, task.Attempt, task.HospitalId, task.Container,
            task.ManifestBlob, task.FailedMarkerBlob);
        var deadline = task.DeadlineUtc.UtcDateTime;
        var wait = input.Monitor.FirstPoll;
        for (int checks = 1; ; checks++)
        {
            var found = await context.CallActivityAsync<UploadCheckResult>(TaskNames.CheckUpload, request, ActivityRetry.Options)
                .ConfigureAwait(true);
            if (found.State != HospitalRoundState.Pending)
            {
                return new HospitalRoundOutcome
                {
                    HospitalId = task.HospitalId,
                    State = found.State,
                    ManifestBlob = found.ManifestBlob,
                    Adapter = found.Adapter,
                    ExampleCount = found.ExampleCount,
                    ReasonCode = found.ReasonCode,
                    Message = found.Message,
                    Checks = checks,
                };
            }

            var now = context.CurrentUtcDateTime;
            if (now >= deadline)
            {
                return new HospitalRoundOutcome
                {
                    HospitalId = task.HospitalId,
                    State = HospitalRoundState.Straggler,
                    ReasonCode = FailureReasons.DeadlinePassed,
                    Message = $"No upload by the round deadline {task.DeadlineUtc:O}.",
                    Checks = checks,
                };
            }

            var next = MonitorBackoff.NextCheck(now, deadline, wait);
            using (var cancel = new CancellationTokenSource())
            {
                var timer = context.CreateTimer(next, cancel.Token);
                var arrived = context.WaitForExternalEvent<string>(TaskNames.UploadArrivedEvent, cancel.Token);
                await Task.WhenAny(timer, arrived).ConfigureAwait(true);
                // Synchronous on purpose: an orchestrator may only await durable tasks (CancelAsync would resume
                // on the thread pool, outside the orchestration's episode, and the orchestration would stall).
#pragma warning disable CA1849
                cancel.Cancel();
#pragma warning restore CA1849

            }
            wait = MonitorBackoff.Grow(wait, input.Monitor);
        }
    }
}

/// <summary>Backoff arithmetic of the upload monitor (pure, unit-tested).</summary>
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
