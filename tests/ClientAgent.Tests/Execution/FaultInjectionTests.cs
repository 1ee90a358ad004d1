using System.Diagnostics;
using FedTune.ClientAgent.Configuration;
using FedTune.ClientAgent.Execution;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace FedTune.ClientAgent.Tests.Execution;

public sealed class FaultInjectionTests
{
    [Fact]
    public void A_pause_set_for_one_round_parks_only_that_rounds_task()
    {
        var faults = new FaultInjection(new FaultInjectionOptions { PauseAt = FaultPoint.Training, Round = 3 }, NullLogger.Instance);

        Assert.False(faults.IsArmed(FaultPoint.Training, 2));
        Assert.True(faults.IsArmed(FaultPoint.Training, 3));
        Assert.False(faults.IsArmed(FaultPoint.Upload, 3));
    }

    [Fact]
    public void A_pause_without_a_round_parks_every_round()
    {
        var faults = new FaultInjection(new FaultInjectionOptions { PauseAt = FaultPoint.Download }, NullLogger.Instance);

        Assert.True(faults.IsArmed(FaultPoint.Download, 1));
        Assert.True(faults.IsArmed(FaultPoint.Download, 7));
        Assert.False(new FaultInjection(new FaultInjectionOptions(), NullLogger.Instance).IsArmed(FaultPoint.None, 1));
    }

    [Fact]
    public async Task A_timed_pause_ends_by_itself_and_an_untimed_one_only_when_cancelled()
    {
        var timed = new FaultInjection(new FaultInjectionOptions { PauseAt = FaultPoint.Upload, PauseFor = TimeSpan.FromMilliseconds(200) }, NullLogger.Instance);
        var watch = Stopwatch.StartNew();
        timed.PauseIfArmed(FaultPoint.Upload, 1, CancellationToken.None);
        await timed.PauseIfArmedAsync(FaultPoint.Upload, 1, CancellationToken.None);
        Assert.True(watch.Elapsed >= TimeSpan.FromMilliseconds(350), $"paused only {watch.Elapsed}");

        var untimed = new FaultInjection(new FaultInjectionOptions { PauseAt = FaultPoint.Upload }, NullLogger.Instance);
        using var cancel = new CancellationTokenSource();
        var parked = untimed.PauseIfArmedAsync(FaultPoint.Upload, 1, cancel.Token);
        await Task.Delay(300);
        Assert.False(parked.IsCompleted);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => parked);
    }
}
