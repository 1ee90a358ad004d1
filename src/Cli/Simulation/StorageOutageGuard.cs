using System.Globalization;
using FedTune.Core.Storage;

namespace FedTune.Cli.Simulation;

/// <summary>
/// Carries a simulation through storage outages: a storage call that fails because storage is down is retried with
/// backoff; one line says storage is down (and one that it is back); the private Azurite, when it stopped, is started
/// again on the same data folder and ports; past <paramref name="limit"/> the run stops with
/// <see cref="StorageUnavailableException"/>, naming the reason.
/// </summary>
public sealed class StorageOutageGuard(AzuriteProcess? azurite, TimeSpan limit, Action<string> say, TimeProvider? time = null)
{
    private static readonly TimeSpan FirstDelay = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(10);
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private int _restarting;
    private DateTimeOffset? _downSince;
    private string? _lastError;
    private int _restarts;

    /// <summary>How many times the private Azurite was started again.</summary>
    public int Restarts => _restarts;

    /// <summary>Runs <paramref name="operation"/>, waiting out a storage outage up to the limit.</summary>
    public async Task<T> RunAsync<T>(Func<CancellationToken, Task<T>> operation, string what, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(operation);
        var delay = FirstDelay;
        while (true)
        {
            await RestartAzuriteIfStoppedAsync(cancellationToken).ConfigureAwait(false);
            // While storage is down, an attempt may not outlast the limit (the SDK's own retries would).
            using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            if (_downSince is { } down) attempt.CancelAfter(Max(TimeSpan.FromSeconds(1), down + limit - _time.GetUtcNow()));
            try
            {
                var result = await operation(attempt.Token).ConfigureAwait(false);
                Recovered();
                return result;
            }
            catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested && _downSince is not null)
            {
                throw PastLimit(what, _lastError ?? "no answer", e);
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested && StorageFailure.IsOutage(e))
            {
                var since = Down(what, e);
                _lastError = StorageFailure.Describe(e);
                if (_time.GetUtcNow() - since > limit) throw PastLimit(what, _lastError, e);
                await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
                delay = TimeSpan.FromTicks(Math.Min(MaxDelay.Ticks, delay.Ticks * 2));
            }
        }
    }

    public Task RunAsync(Func<CancellationToken, Task> operation, string what, CancellationToken cancellationToken) =>
        RunAsync(async ct =>
        {
            await operation(ct).ConfigureAwait(false);
            return true;
        }, what, cancellationToken);

    /// <summary>
    /// Watches the private Azurite until <paramref name="cancellationToken"/> is cancelled and starts it again as soon as
    /// it stops. Without it a stopped Azurite was noticed only when a storage call failed, after the storage SDK's and the
    /// Durable Task provider's own retries: 28 s in the fault matrix. Cancel it before stopping Azurite on purpose.
    /// </summary>
    public async Task WatchAzuriteAsync(TimeSpan interval, CancellationToken cancellationToken)
    {
        if (azurite is null) return;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(interval, _time, cancellationToken).ConfigureAwait(false);
                await RestartAzuriteIfStoppedAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or StorageUnavailableException)
        {
            // Never the run's failure: its storage calls still wait out (or name) the outage through RunAsync.
            say("Storage: stopped watching the private Azurite (" + StorageFailure.Describe(e) + ")");
        }
    }

    /// <summary>Starts the private Azurite again when it stopped (killed, crashed), on the same data folder and ports.</summary>
    public async Task RestartAzuriteIfStoppedAsync(CancellationToken cancellationToken)
    {
        if (azurite is not { HasExited: true }) return;
        if (Interlocked.Exchange(ref _restarting, 1) == 1) return; // another caller is restarting it
        try
        {
            say($"Storage: the private Azurite stopped; starting it again on the same data folder ({azurite.DataDirectory}) and ports");
            _downSince ??= _time.GetUtcNow();
            try
            {
                await azurite.RestartAsync(TimeSpan.FromSeconds(60), cancellationToken).ConfigureAwait(false);
                _restarts++;
            }
            catch (InvalidOperationException e) when (_time.GetUtcNow() - _downSince < limit)
            {
                say("Storage: Azurite did not start again yet (" + StorageFailure.Describe(e) + "); retrying");
            }
        }
        finally
        {
            Volatile.Write(ref _restarting, 0);
        }
    }

    private StorageUnavailableException PastLimit(string what, string reason, Exception inner) => new(
        string.Create(CultureInfo.InvariantCulture, $"storage was unreachable for more than {limit.TotalMinutes:0.#} min while {what} ({reason})"), inner);

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private DateTimeOffset Down(string what, Exception e)
    {
        if (_downSince is { } since) return since;
        _downSince = _time.GetUtcNow();
        say(string.Create(CultureInfo.InvariantCulture,
            $"Storage unreachable while {what} ({StorageFailure.Describe(e)}); retrying with backoff for up to {limit.TotalMinutes:0.#} min"));
        return _downSince.Value;
    }

    private void Recovered()
    {
        if (_downSince is not { } since) return;
        _downSince = null;
        _lastError = null;
        say(string.Create(CultureInfo.InvariantCulture, $"Storage is back after {(_time.GetUtcNow() - since).TotalSeconds:F0} s; carrying on"));
    }
}
