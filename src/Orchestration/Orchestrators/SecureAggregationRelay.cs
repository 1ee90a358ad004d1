using FedTune.Core.Protocol;
using FedTune.Orchestration.Plans;
using Microsoft.DurableTask;

namespace FedTune.Orchestration.Orchestrators;

/// <summary>
/// The orchestrator's extra steps in a securely aggregated round (deterministic; every side effect is an activity):
/// collect the hospitals' public keys and publish the roster, collect their encrypted shares and route each its inbox,
/// and, once the masked uploads are in, ask the survivors to reveal what unmasking the sum needs. It only relays: the
/// keys are public, the shares are encrypted to their recipients, and the uploads are masked.
/// </summary>
internal static class SecureAggregationRelay
{
    /// <summary>
    /// How often the relay looks for keys, shares and reveals: no events announce those files, so it polls, first after 1/60
    /// of the round deadline (1 s to 15 s), backing off to 1/10 (2 s to 2 min); the upload safety net (plan.Monitor) is far
    /// slower, since uploads arrive as events.
    /// </summary>
    public static MonitorSettings RelayPolling(TimeSpan deadline) => new()
    {
        FirstPoll = Clamp(deadline / 60, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(15)),
        MaxPoll = Clamp(deadline / 10, TimeSpan.FromSeconds(2), TimeSpan.FromMinutes(2)),
        BackoffFactor = 2,
    };

    private static TimeSpan Clamp(TimeSpan value, TimeSpan min, TimeSpan max) => value < min ? min : value > max ? max : value;

    /// <summary>Keys, roster, shares, inboxes. Returns the hospitals whose shares were routed (they mask with each other).</summary>
    public static async Task<IReadOnlyList<string>> ExchangeKeysAsync(TaskOrchestrationContext context, FederationPlan plan, int round, int attempt,
        IReadOnlyList<string> selected, SecureAggregationTask secure)
    {
        var published = await WaitForAsync(context, plan, round, attempt, selected, SecAggFiles.Keys, secure.KeysDeadlineUtc).ConfigureAwait(true);
        var roster = await context.CallActivityAsync<IReadOnlyList<string>>(TaskNames.WriteSecAggRoster,
            new SecAggRelayRequest(plan.RunId, round, attempt, published), ActivityRetry.Options).ConfigureAwait(true);
        var shared = await WaitForAsync(context, plan, round, attempt, roster, SecAggFiles.Shares, secure.SharesDeadlineUtc).ConfigureAwait(true);
        return await context.CallActivityAsync<IReadOnlyList<string>>(TaskNames.RouteSecAggShares,
            new SecAggRelayRequest(plan.RunId, round, attempt, shared), ActivityRetry.Options).ConfigureAwait(true);
    }

    /// <summary>Asks the survivors (hospitals whose masked upload arrived) to reveal, and waits for their answers.</summary>
    public static async Task RequestRevealAsync(TaskOrchestrationContext context, FederationPlan plan, int round, int attempt,
        IReadOnlyList<string> survivors, SecureAggregationTask secure)
    {
        await context.CallActivityAsync<bool>(TaskNames.WriteSecAggRevealRequests,
            new SecAggRelayRequest(plan.RunId, round, attempt, survivors), ActivityRetry.Options).ConfigureAwait(true);
        await WaitForAsync(context, plan, round, attempt, survivors, SecAggFiles.Reveal, secure.RevealDeadlineUtc).ConfigureAwait(true);
    }

    /// <summary>Checks the hospitals' round folders for <paramref name="file"/> on a backing-off durable timer until all answered (or failed) or the deadline.</summary>
    private static async Task<IReadOnlyList<string>> WaitForAsync(TaskOrchestrationContext context, FederationPlan plan, int round, int attempt,
        IReadOnlyList<string> hospitals, string file, DateTimeOffset deadline)
    {
        var polling = RelayPolling(plan.RoundDeadline);
        var wait = polling.FirstPoll;
        while (true)
        {
            var found = await context.CallActivityAsync<SecAggMessageStatus>(TaskNames.CheckSecAggMessages,
                new SecAggMessageCheck(plan.RunId, round, attempt, hospitals, file), ActivityRetry.Options).ConfigureAwait(true);
            var now = context.CurrentUtcDateTime;
            if (found.Present.Count + found.Failed.Count >= hospitals.Count || now >= deadline.UtcDateTime)
            {
                return found.Present;
            }

            await context.CreateTimer(MonitorBackoff.NextCheck(now, deadline.UtcDateTime, wait), CancellationToken.None).ConfigureAwait(true);
            wait = MonitorBackoff.Grow(wait, polling);
        }
    }
}

/// <summary>Which of <see cref="Hospitals"/> have written <see cref="FileName"/> in their round's secagg folder.</summary>
public sealed record SecAggMessageCheck(string RunId, int Round, int Attempt, IReadOnlyList<string> Hospitals, string FileName);

/// <summary>Hospitals that wrote the message, and those that gave up the round (failed-task marker).</summary>
public sealed record SecAggMessageStatus(IReadOnlyList<string> Present, IReadOnlyList<string> Failed);

/// <summary>A relay step for <see cref="Hospitals"/> of one round.</summary>
public sealed record SecAggRelayRequest(string RunId, int Round, int Attempt, IReadOnlyList<string> Hospitals);
