using Azure;
using Azure.Storage.Blobs.Specialized;
using FedTune.ClientAgent.Configuration;
using FedTune.Core.Protocol;
using Microsoft.Extensions.Logging;

namespace FedTune.ClientAgent.Tasks;

/// <summary>
/// Exclusive ownership of one task: a blob lease on the task's lock blob, renewed on a timer while the task runs
/// and released on dispose. The lease id is the agent instance's own id (kept in its work folder), so an agent that
/// was killed and restarts takes its own lease straight back, while another instance waits until it expires.
/// When a renewal fails (lease lost), <see cref="Lost"/> is cancelled so the task stops before it uploads twice.
/// </summary>
public sealed partial class TaskLease : IAsyncDisposable
{
    private readonly BlobLeaseClient _lease;
    private readonly CancellationTokenSource _lost = new();
    private readonly CancellationTokenSource _stopRenewing = new();
    private readonly Task _renewal;
    private readonly ILogger _logger;
    private readonly BlobRef _blob;

    private TaskLease(BlobLeaseClient lease, BlobRef blob, LeaseOptions options, ILogger logger)
    {
        _lease = lease;
        _blob = blob;
        _logger = logger;
        _renewal = RenewLoopAsync(options.RenewInterval);
    }

    /// <summary>Cancelled when the lease could not be renewed: someone else may own the task now.</summary>
    public CancellationToken Lost => _lost.Token;

    /// <summary>The lease on <paramref name="lockBlob"/>, or null when another agent instance holds it.</summary>
    public static async Task<TaskLease?> TryAcquireAsync(BlobStore store, BlobRef lockBlob, Guid instanceId, LeaseOptions options,
        ILogger logger, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(options);
        await store.TryCreateAsync(lockBlob, BinaryData.Empty, cancellationToken).ConfigureAwait(false);
        var lease = store.Blob(lockBlob).GetBlobLeaseClient(instanceId.ToString());
        try
        {
            await lease.AcquireAsync(options.Duration, cancellationToken: cancellationToken).ConfigureAwait(false);
            return new TaskLease(lease, lockBlob, options, logger);
        }
        catch (RequestFailedException e) when (e.Status == 409)
        {
            return null;
        }
    }

    private async Task RenewLoopAsync(TimeSpan interval)
    {
        using var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stopRenewing.Token).ConfigureAwait(false))
            {
                try
                {
                    await _lease.RenewAsync(cancellationToken: _stopRenewing.Token).ConfigureAwait(false);
                }
                catch (RequestFailedException e) when (e.Status is 409 or 412)
                {
                    LogLeaseLost(_logger, _blob.ToString(), e.ErrorCode ?? e.Status.ToString(System.Globalization.CultureInfo.InvariantCulture));
                    await _lost.CancelAsync().ConfigureAwait(false);
                    return;
                }
                catch (RequestFailedException e)
                {
                    // Transient (5xx, throttling): the lease is still ours until it expires; the next tick retries.
                    LogRenewFailed(_logger, _blob.ToString(), e.Status);
                }
            }
        }
        catch (OperationCanceledException) when (_stopRenewing.IsCancellationRequested)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopRenewing.CancelAsync().ConfigureAwait(false);
        await _renewal.ConfigureAwait(false);
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _lease.ReleaseAsync(cancellationToken: timeout.Token).ConfigureAwait(false);
        }
        catch (RequestFailedException)
        {
            // Already expired or taken: nothing to release.
        }
        catch (OperationCanceledException)
        {
            // Storage unreachable while stopping: the lease expires on its own.
        }

        _stopRenewing.Dispose();
        _lost.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Lost the lease on {LockBlob} ({Reason}); stopping the task so it is not done twice")]
    private static partial void LogLeaseLost(ILogger logger, string lockBlob, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Renewing the lease on {LockBlob} failed with HTTP {Status}; retrying on the next tick")]
    private static partial void LogRenewFailed(ILogger logger, string lockBlob, int status);
}
