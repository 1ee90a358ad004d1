using FedTune.Orchestration.Plans;
using Microsoft.Extensions.Logging;

namespace FedTune.Orchestration.Local;

/// <summary>
/// Settings of the local host. The defaults favour quick recovery on one machine: after a crash, in-flight
/// messages become visible again and partition leases expire within seconds instead of the provider's
/// five-minute / thirty-second defaults. The price: an activity that runs longer than
/// <see cref="WorkItemVisibilityTimeout"/> is delivered a second time (the sidecar never renews activity
/// messages), and an orchestration episode longer than <see cref="ControlQueueVisibilityTimeout"/> may be
/// replayed twice; both are safe here (every activity is idempotent and short) but cost work. Shorter lease
/// intervals mean more storage transactions while idle. docs/orchestrator.md explains how to choose.
/// </summary>
public sealed record LocalOrchestratorOptions
{
    /// <summary>Durable task hub name (3-45 letters and digits, starting with a letter); one per federation environment.</summary>
    public string TaskHubName { get; init; } = "fedtune";
    /// <summary>Port of the operator HTTP API on 127.0.0.1; 0 picks a free port.</summary>
    public int ApiPort { get; init; }
    /// <summary>Serve the operator HTTP API (off: only the worker and the <see cref="LocalOrchestratorHost.Client"/>).</summary>
    public bool ServeApi { get; init; } = true;
    /// <summary>Must exceed the longest activity (aggregation) with margin.</summary>
    public TimeSpan WorkItemVisibilityTimeout { get; init; } = TimeSpan.FromSeconds(60);
    public TimeSpan ControlQueueVisibilityTimeout { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>How long a dead host's partition leases block a new host.</summary>
    public TimeSpan LeaseInterval { get; init; } = TimeSpan.FromSeconds(10);
    public TimeSpan LeaseRenewInterval { get; init; } = TimeSpan.FromSeconds(3);
    public TimeSpan LeaseAcquireInterval { get; init; } = TimeSpan.FromSeconds(2);
    /// <summary>Control-queue partitions (1-16); a single local host needs few.</summary>
    public int PartitionCount { get; init; } = 2;
    /// <summary>Longest wait between polls of an idle queue (lower: snappier timers/events, more transactions).</summary>
    public TimeSpan MaxQueuePollingInterval { get; init; } = TimeSpan.FromMilliseconds(250);
    /// <summary>
    /// Pause between passes of the <see cref="UploadWatcher"/> (the local stand-in for Event Grid); zero turns it off,
    /// leaving only the rounds' safety-net poll.
    /// </summary>
    public TimeSpan UploadWatchInterval { get; init; } = TimeSpan.FromMilliseconds(250);
    public int MaxConcurrentActivities { get; init; } = 16;
    public int MaxConcurrentOrchestrations { get; init; } = 64;
    /// <summary>Identifies this host in leases and logs; default machine name + process id.</summary>
    public string? WorkerId { get; init; }
    /// <summary>Polling cadence for a round deadline (default: <see cref="FederationPlanBuilder.MonitorFor"/>).</summary>
    public Func<TimeSpan, MonitorSettings>? MonitorFor { get; init; }
    public ILoggerFactory? LoggerFactory { get; init; }

    internal void Validate()
    {
        if (TaskHubName.Length is < 3 or > 45 || !char.IsAsciiLetter(TaskHubName[0]) || !TaskHubName.All(char.IsAsciiLetterOrDigit))
        {
            throw new ArgumentException($"Task hub name '{TaskHubName}' is invalid. Fix: use 3-45 letters and digits, starting with a letter.");
        }
        if (ApiPort is < 0 or > 65535) throw new ArgumentException($"API port {ApiPort} is out of range. Fix: use 1-65535, or 0 for a free port.");
        if (PartitionCount is < 1 or > 16) throw new ArgumentException($"Partition count {PartitionCount} must be 1-16.");
        if (LeaseRenewInterval >= LeaseInterval) throw new ArgumentException("LeaseRenewInterval must be shorter than LeaseInterval.");
        if (UploadWatchInterval < TimeSpan.Zero) throw new ArgumentException("UploadWatchInterval must be zero (off) or positive.");
        if (WorkItemVisibilityTimeout < TimeSpan.FromSeconds(5) || ControlQueueVisibilityTimeout < TimeSpan.FromSeconds(5))
        {
            throw new ArgumentException("Visibility timeouts below 5 s would redeliver messages that are still being processed.");
        }
    }
}
