using System.Diagnostics;
using System.Reflection;
using DurableTask.Core;
using FedTune.Orchestration.Local;
using Xunit;

namespace FedTune.Orchestration.Tests.Unit;

/// <summary>
/// Stopping the local host's orchestration service is bounded and never throws: the Azure Storage provider's partition
/// manager can hang for 10 minutes and then throw from the sidecar's stopping callback, which ended a default
/// <c>fedtune simulate</c> (SIGABRT) while its baselines and audit were still running.
/// </summary>
public sealed class PersistableHistoryServiceStopTests
{
    [Fact]
    public async Task A_provider_that_never_stops_is_given_up_after_the_timeout()
    {
        var provider = StubProvider.Create(stop: new TaskCompletionSource().Task);
        var service = new PersistableHistoryService(provider, TimeSpan.FromMilliseconds(200));
        await service.StartAsync();

        var clock = Stopwatch.StartNew();
        await service.StopAsync(isForced: false);

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"stop took {clock.Elapsed}");
    }

    [Fact]
    public async Task A_provider_whose_stop_fails_late_does_not_fail_the_stop()
    {
        var provider = StubProvider.Create(stop: Task.Delay(300).ContinueWith<Task>(_ => throw new TimeoutException("partition manager"), TaskScheduler.Default).Unwrap());
        var service = new PersistableHistoryService(provider, TimeSpan.FromMilliseconds(100));
        await service.StartAsync();

        await service.StopAsync(isForced: false);
        await Task.Delay(500); // the late failure happens after the stop returned, observed
    }

    [Fact]
    public async Task A_provider_that_stops_in_time_is_awaited()
    {
        var stopped = new TaskCompletionSource();
        var provider = StubProvider.Create(stop: stopped.Task);
        var service = new PersistableHistoryService(provider, TimeSpan.FromSeconds(30));
        await service.StartAsync();

        var stop = service.StopAsync(isForced: false);
        Assert.False(stop.IsCompleted);
        stopped.SetResult();
        await stop;
    }

    /// <summary>An orchestration service whose start completes at once and whose stop is the given task.</summary>
    public class StubProvider : DispatchProxy
    {
        private Task _stop = Task.CompletedTask;

        public static IOrchestrationService Create(Task stop)
        {
            var proxy = Create<IOrchestrationService, StubProvider>();
            ((StubProvider)(object)proxy)._stop = stop;
            return proxy;
        }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args) => targetMethod?.Name switch
        {
            nameof(IOrchestrationService.StartAsync) => Task.CompletedTask,
            nameof(IOrchestrationService.StopAsync) => _stop,
            _ => throw new NotSupportedException(targetMethod?.Name),
        };
    }
}
