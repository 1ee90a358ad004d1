namespace FedTune.Orchestration.Events;

/// <summary>
/// Gathers the upload locations that arrive within <see cref="Window"/> of the first one and raises them through
/// <see cref="UploadEventRouter"/> together: one notice per run, round and attempt instead of one per upload. Event Grid
/// delivers one BlobCreated event per manifest, so without this a 10,000-hospital round would raise 10,000 durable events,
/// each an orchestration episode replaying the whole round. Each caller's task completes when the notice naming its
/// location was raised (or faults with the router's error), so a queue message is completed only after its notice is out.
/// </summary>
public sealed class UploadNoticeBatcher(UploadEventRouter router, TimeSpan window)
{
    /// <summary>The default gathering window: short next to Event Grid's own delivery latency (about a second).</summary>
    public static readonly TimeSpan DefaultWindow = TimeSpan.FromMilliseconds(200);

    private readonly Lock _gate = new();
    private List<UploadLocation> _pending = [];
    private TaskCompletionSource<int>? _flush;
    private long _notices;
    private long _hospitals;

    /// <summary>How long the batcher waits after the first location of a batch before raising the batch.</summary>
    public TimeSpan Window { get; } = window;

    /// <summary>Notices handed to the router so far (one per run, round and attempt of a batch) and the hospitals it named in notices to running runs.</summary>
    public (long Notices, long Hospitals) Totals
    {
        get
        {
            lock (_gate) return (_notices, _hospitals);
        }
    }

    /// <summary>Adds one finished upload to the current batch; completes when its notice was raised.</summary>
    public Task NotifyAsync(UploadLocation location, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(location);
        TaskCompletionSource<int> flush;
        bool first;
        lock (_gate)
        {
            _pending.Add(location);
            first = _flush == null;
            _flush ??= new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
            flush = _flush;
        }
        if (first) _ = RaiseAfterWindowAsync(flush);
        return flush.Task.WaitAsync(cancellationToken);
    }

    private async Task RaiseAfterWindowAsync(TaskCompletionSource<int> flush)
    {
        await Task.Delay(Window).ConfigureAwait(false);
        List<UploadLocation> batch;
        lock (_gate)
        {
            batch = _pending;
            _pending = [];
            _flush = null;
        }
        try
        {
            // Not the callers' tokens: the batch is shared, and one caller giving up must not drop the others' notices.
            int named = await router.NotifyAsync(batch, CancellationToken.None).ConfigureAwait(false);
            lock (_gate)
            {
                _notices += batch.Select(l => (l.RunId, l.Round, l.Attempt)).Distinct().Count();
                _hospitals += named;
            }
            flush.SetResult(named);
        }
#pragma warning disable CA1031 // every failure goes to the waiting callers, who retry their queue messages
        catch (Exception e)
#pragma warning restore CA1031
        {
            flush.SetException(e);
        }
    }
}
