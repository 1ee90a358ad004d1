using DurableTask.Core;
using DurableTask.Core.History;

namespace FedTune.Orchestration.Local;

/// <summary>
/// The orchestration service the sidecar's dispatchers use: the Azure Storage provider, with one repair before
/// each orchestration checkpoint. The in-process sidecar records sub-orchestration starts as its own subclass of
/// <see cref="SubOrchestrationInstanceCreatedEvent"/>, which the provider's history-table converter cannot see into
/// (it writes a row with no properties, and the parent can never load its history again). Here every such event
/// is replaced, in place, by a plain <see cref="SubOrchestrationInstanceCreatedEvent"/> with the same data.
/// Everything else is passed through unchanged.
/// </summary>
internal sealed class PersistableHistoryService(IOrchestrationService inner, TimeSpan? stopTimeout = null) : IOrchestrationService
{
    /// <summary>
    /// How long the provider may take to stop. Its table partition manager can wait 10 minutes and then throw from the
    /// sidecar's application-stopping callback, which ends the process: a simulate whose baselines and audit ran on
    /// after the federation was killed that way. Past this the stop is given up (leases expire by themselves).
    /// </summary>
    public static readonly TimeSpan DefaultStopTimeout = TimeSpan.FromSeconds(30);

    private readonly TimeSpan _stopTimeout = stopTimeout ?? DefaultStopTimeout;

    public int TaskOrchestrationDispatcherCount => inner.TaskOrchestrationDispatcherCount;
    public int MaxConcurrentTaskOrchestrationWorkItems => inner.MaxConcurrentTaskOrchestrationWorkItems;
    public BehaviorOnContinueAsNew EventBehaviourForContinueAsNew => inner.EventBehaviourForContinueAsNew;
    public int TaskActivityDispatcherCount => inner.TaskActivityDispatcherCount;
    public int MaxConcurrentTaskActivityWorkItems => inner.MaxConcurrentTaskActivityWorkItems;

    private readonly object _lifecycle = new();
    private Task? _started;
    private Task? _stopped;

    /// <summary>Starts the provider once; the sidecar's dispatchers call this when the sidecar app has started.</summary>
    public Task StartAsync()
    {
        lock (_lifecycle) return _started ??= inner.StartAsync();
    }

    public Task StopAsync() => StopAsync(isForced: false);

    /// <summary>
    /// Stops the provider once, and only after its start finished. The sidecar stops its dispatchers from an
    /// application-stopping callback; the Azure Storage provider throws a NullReferenceException from StopAsync when
    /// it is stopped before (or while) it starts, and from that callback the exception would end the process. A host
    /// that is stopped right after it started (a test, a Ctrl+C during start-up) therefore waits for the start here.
    /// </summary>
    public Task StopAsync(bool isForced)
    {
        lock (_lifecycle)
        {
            if (_started == null) return Task.CompletedTask;
            return _stopped ??= StopAfterStartAsync(_started, isForced);
        }
    }

    private async Task StopAfterStartAsync(Task started, bool isForced)
    {
        try
        {
            await started.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is InvalidOperationException or Azure.RequestFailedException or OperationCanceledException)
        {
            return; // It never started, so there is nothing to stop.
        }
        var stopping = inner.StopAsync(isForced);
        try
        {
            await stopping.WaitAsync(_stopTimeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Observe the late outcome so that it never surfaces as an unobserved exception.
            _ = stopping.ContinueWith(t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        }
        catch (Exception ex) when (ex is InvalidOperationException or Azure.RequestFailedException or OperationCanceledException)
        {
            // The provider failed to stop cleanly (storage gone, already stopping): nothing is left to do, and an exception
            // here would end the process from the sidecar's stopping callback.
        }
    }
    public Task CreateAsync() => inner.CreateAsync();
    public Task CreateAsync(bool recreateInstanceStore) => inner.CreateAsync(recreateInstanceStore);
    public Task CreateIfNotExistsAsync() => inner.CreateIfNotExistsAsync();
    public Task DeleteAsync() => inner.DeleteAsync();
    public Task DeleteAsync(bool deleteInstanceStore) => inner.DeleteAsync(deleteInstanceStore);
    public bool IsMaxMessageCountExceeded(int currentMessageCount, OrchestrationRuntimeState runtimeState) =>
        inner.IsMaxMessageCountExceeded(currentMessageCount, runtimeState);
    public int GetDelayInSecondsAfterOnProcessException(Exception exception) => inner.GetDelayInSecondsAfterOnProcessException(exception);
    public int GetDelayInSecondsAfterOnFetchException(Exception exception) => inner.GetDelayInSecondsAfterOnFetchException(exception);

    public Task<TaskOrchestrationWorkItem> LockNextTaskOrchestrationWorkItemAsync(TimeSpan receiveTimeout, CancellationToken cancellationToken) =>
        inner.LockNextTaskOrchestrationWorkItemAsync(receiveTimeout, cancellationToken);
    public Task RenewTaskOrchestrationWorkItemLockAsync(TaskOrchestrationWorkItem workItem) => inner.RenewTaskOrchestrationWorkItemLockAsync(workItem);

    public Task CompleteTaskOrchestrationWorkItemAsync(TaskOrchestrationWorkItem workItem, OrchestrationRuntimeState newOrchestrationRuntimeState,
        IList<TaskMessage> outboundMessages, IList<TaskMessage> orchestratorMessages, IList<TaskMessage> timerMessages,
        TaskMessage continuedAsNewMessage, OrchestrationState orchestrationState)
    {
        ArgumentNullException.ThrowIfNull(newOrchestrationRuntimeState);
        Repair(newOrchestrationRuntimeState.NewEvents);
        Repair(newOrchestrationRuntimeState.Events);
        return inner.CompleteTaskOrchestrationWorkItemAsync(workItem, newOrchestrationRuntimeState, outboundMessages, orchestratorMessages,
            timerMessages, continuedAsNewMessage, orchestrationState);
    }

    public Task AbandonTaskOrchestrationWorkItemAsync(TaskOrchestrationWorkItem workItem) => inner.AbandonTaskOrchestrationWorkItemAsync(workItem);
    public Task ReleaseTaskOrchestrationWorkItemAsync(TaskOrchestrationWorkItem workItem) => inner.ReleaseTaskOrchestrationWorkItemAsync(workItem);
    public Task<TaskActivityWorkItem> LockNextTaskActivityWorkItem(TimeSpan receiveTimeout, CancellationToken cancellationToken) =>
        inner.LockNextTaskActivityWorkItem(receiveTimeout, cancellationToken);
    public Task<TaskActivityWorkItem> RenewTaskActivityWorkItemLockAsync(TaskActivityWorkItem workItem) => inner.RenewTaskActivityWorkItemLockAsync(workItem);
    public Task CompleteTaskActivityWorkItemAsync(TaskActivityWorkItem workItem, TaskMessage responseMessage) =>
        inner.CompleteTaskActivityWorkItemAsync(workItem, responseMessage);
    public Task AbandonTaskActivityWorkItemAsync(TaskActivityWorkItem workItem) => inner.AbandonTaskActivityWorkItemAsync(workItem);

    /// <summary>Replaces sidecar subclasses of <see cref="SubOrchestrationInstanceCreatedEvent"/> by the plain type.</summary>
    internal static void Repair(IList<HistoryEvent> events)
    {
        for (int i = 0; i < events.Count; i++)
        {
            if (events[i] is SubOrchestrationInstanceCreatedEvent created && created.GetType() != typeof(SubOrchestrationInstanceCreatedEvent))
            {
                events[i] = new SubOrchestrationInstanceCreatedEvent(created.EventId)
                {
                    Name = created.Name,
                    Version = created.Version,
                    InstanceId = created.InstanceId,
                    Input = created.Input,
                    ClientSpanId = created.ClientSpanId,
                    Tags = created.Tags == null ? null : new Dictionary<string, string>(created.Tags),
                    Timestamp = created.Timestamp,
                    IsPlayed = created.IsPlayed,
                };
            }
        }
    }
}
