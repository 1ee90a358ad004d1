using FedTune.ClientAgent.Configuration;

namespace FedTune.ClientAgent.Polling;

/// <summary>
/// The wait between looks for a task: <see cref="PollingOptions.MinInterval"/> after activity, multiplied by
/// <see cref="PollingOptions.BackoffFactor"/> after each empty look up to <see cref="PollingOptions.MaxInterval"/>,
/// and each wait scaled by a random factor in [1 − jitter, 1 + jitter] so a fleet of agents spreads out.
/// </summary>
public sealed class PollBackoff
{
    private readonly PollingOptions _options;
    private readonly Random _random;
    private TimeSpan _current;

    public PollBackoff(PollingOptions options, Random? random = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _random = random ?? Random.Shared;
        _current = options.MinInterval;
    }

    /// <summary>The un-jittered interval the next wait is based on.</summary>
    public TimeSpan Current => _current;

    /// <summary>Something happened (a task was found or finished): look again soon.</summary>
    public void Reset() => _current = _options.MinInterval;

    /// <summary>The wait before the next look (jittered), then grows the interval for the one after.</summary>
    public TimeSpan NextDelay()
    {
        double scale = 1 + _options.Jitter * (2 * _random.NextDouble() - 1);
        var delay = TimeSpan.FromTicks(Math.Max(1, (long)(_current.Ticks * scale)));
        var grown = TimeSpan.FromTicks((long)Math.Min(_current.Ticks * _options.BackoffFactor, _options.MaxInterval.Ticks));
        _current = grown < _options.MinInterval ? _options.MinInterval : grown;
        return delay;
    }

    /// <summary>Exponential backoff with jitter for retrying a failed operation (attempt 1 = first retry).</summary>
    public static TimeSpan RetryDelay(int attempt, RetryOptions options, Random? random = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        double exponential = options.FirstDelay.Ticks * Math.Pow(2, Math.Max(0, attempt - 1));
        double capped = Math.Min(exponential, options.MaxDelay.Ticks);
        double scale = 0.5 + (random ?? Random.Shared).NextDouble() * 0.5;
        return TimeSpan.FromTicks(Math.Max(1, (long)(capped * scale)));
    }
}
