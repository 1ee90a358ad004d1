using FedTune.ClientAgent.Configuration;
using FedTune.ClientAgent.Polling;

namespace FedTune.ClientAgent.Tests.Polling;

public sealed class PollBackoffTests
{
    private static readonly PollingOptions Options = new()
    {
        MinInterval = TimeSpan.FromSeconds(5),
        MaxInterval = TimeSpan.FromSeconds(60),
        BackoffFactor = 2,
        Jitter = 0.25,
    };

    [Fact]
    public void Empty_polls_double_the_interval_up_to_the_maximum()
    {
        var backoff = new PollBackoff(Options, new Random(1));
        var bases = new List<double>();
        for (int i = 0; i < 8; i++)
        {
            bases.Add(backoff.Current.TotalSeconds);
            backoff.NextDelay();
        }

        Assert.Equal([5, 10, 20, 40, 60, 60, 60, 60], bases);
    }

    [Fact]
    public void Every_delay_stays_within_the_jitter_band_and_is_never_zero()
    {
        var backoff = new PollBackoff(Options, new Random(7));
        for (int i = 0; i < 200; i++)
        {
            var current = backoff.Current;
            var delay = backoff.NextDelay();
            Assert.InRange(delay.Ticks, (long)(current.Ticks * 0.75) - 1, (long)(current.Ticks * 1.25) + 1);
            Assert.True(delay > TimeSpan.Zero);
        }
    }

    [Fact]
    public void Jitter_spreads_agents_that_start_together()
    {
        var first = Enumerable.Range(0, 20).Select(seed => new PollBackoff(Options, new Random(seed)).NextDelay()).ToList();
        Assert.True(first.Distinct().Count() > 15, "agents starting at once must not poll in lockstep");
    }

    [Fact]
    public void Reset_after_activity_returns_to_the_minimum()
    {
        var backoff = new PollBackoff(Options, new Random(3));
        for (int i = 0; i < 5; i++) backoff.NextDelay();
        backoff.Reset();
        Assert.Equal(Options.MinInterval, backoff.Current);
    }

    [Fact]
    public void Retry_delay_grows_exponentially_and_is_capped()
    {
        var retry = new RetryOptions { FirstDelay = TimeSpan.FromSeconds(1), MaxDelay = TimeSpan.FromSeconds(10), MaxAttempts = 8 };
        var random = new Random(5);
        Assert.InRange(PollBackoff.RetryDelay(1, retry, random).TotalSeconds, 0.5, 1.0);
        Assert.InRange(PollBackoff.RetryDelay(3, retry, random).TotalSeconds, 2.0, 4.0);
        Assert.InRange(PollBackoff.RetryDelay(10, retry, random).TotalSeconds, 5.0, 10.0);
    }
}
