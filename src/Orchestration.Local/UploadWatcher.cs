using FedTune.Core.Protocol;
using FedTune.Orchestration.Events;
using FedTune.Orchestration.Orchestrators;
using FedTune.Orchestration.Sampling;
using FedTune.Orchestration.Status;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;

namespace FedTune.Orchestration.Local;

/// <summary>
/// The local host's stand-in for the Event Grid BlobCreated subscription (Azurite has no events): it looks at the same
/// blob paths the subscription filters on (each waiting hospital's round folder: <c>update/manifest.json</c> and
/// <c>failed.json</c>) every <see cref="LocalOrchestratorOptions.UploadWatchInterval"/> and hands what appeared to the
/// same <see cref="UploadEventRouter"/> the Functions trigger uses. Which rounds wait, and for whom, it reads from the
/// running federations themselves (phase and round from the custom status, hospitals from the plan and the seeded
/// sampler), so a restarted host watches again without any state of its own. Polling here costs one listing per
/// waiting hospital per pass; the orchestration itself only sees the notices.
/// </summary>
public sealed partial class UploadWatcher : IAsyncDisposable
{
    /// <summary>Listings in flight at once: the watcher shares Azurite (one Node process) with everything else.</summary>
    public const int Parallelism = 8;
    private static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(1);

    private readonly DurableTaskClient _client;
    private readonly BlobStore _store;
    private readonly UploadEventRouter _router;
    private readonly TimeSpan _interval;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly Dictionary<(string RunId, int Round, int Attempt), HashSet<string>> _waiting = [];
    private Task? _loop;
    private DateTime _refreshedUtc = DateTime.MinValue;

    public UploadWatcher(DurableTaskClient client, BlobStore store, TimeSpan interval, ILogger logger)
    {
        _client = client;
        _store = store;
        _router = new UploadEventRouter(client);
        _interval = interval;
        _logger = logger;
    }

    private long _passes;
    private long _listings;
    private long _passTicks;

    /// <summary>Passes made, folders listed and time spent in passes since the host started (the benchmark prints them).</summary>
    public (long Passes, long Listings, TimeSpan Busy) Totals =>
        (Interlocked.Read(ref _passes), Interlocked.Read(ref _listings), TimeSpan.FromTicks(Interlocked.Read(ref _passTicks)));

    public void Start() => _loop ??= Task.Run(() => RunAsync(_stop.Token));

    /// <summary>
    /// The pause after a pass: the set interval, or as long as the pass took when that is longer, so the watcher's
    /// listings (one per waiting hospital) take at most half of its time and leave storage to the uploads it waits for.
    /// With a few hospitals a pass takes milliseconds and the interval rules; with thousands a notice waits about two
    /// pass durations at worst.
    /// </summary>
    public static TimeSpan PauseAfter(TimeSpan pass, TimeSpan interval) => pass > interval ? pass : interval;

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                var clock = System.Diagnostics.Stopwatch.StartNew();
                await PassAsync(cancellationToken).ConfigureAwait(false);
                await Task.Delay(PauseAfter(clock.Elapsed, _interval), cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // A storage or sidecar hiccup must not stop the watcher; the safety-net poll covers the gap.
            catch (Exception e)
#pragma warning restore CA1031
            {
                PassFailed(_logger, e);
                await Task.Delay(_interval, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>One pass: refresh the waiting rounds (at most once a second), look at their folders, raise notices.</summary>
    public async Task<int> PassAsync(CancellationToken cancellationToken)
    {
        if (DateTime.UtcNow - _refreshedUtc >= RefreshInterval)
        {
            await RefreshAsync(cancellationToken).ConfigureAwait(false);
            _refreshedUtc = DateTime.UtcNow;
        }
        var targets = _waiting.SelectMany(w => w.Value.Select(h => (w.Key, Hospital: h))).ToArray();
        if (targets.Length == 0) return 0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Interlocked.Increment(ref _passes);
        Interlocked.Add(ref _listings, targets.Length);
        var found = new List<UploadLocation>();
        await Parallel.ForEachAsync(targets, new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = cancellationToken },
            async (target, token) =>
            {
                var container = BlobLayout.HospitalContainer(target.Hospital);
                var folder = BlobLayout.HospitalRoundFolder(target.Key.RunId, target.Key.Round, target.Key.Attempt);
                await foreach (var name in _store.ListNamesAsync(container, folder, token).ConfigureAwait(false))
                {
                    if (UploadLocation.FromBlob(container, name) is { } location)
                    {
                        lock (found) found.Add(location);
                        return;
                    }
                }
            }).ConfigureAwait(false);
        Interlocked.Add(ref _passTicks, clock.Elapsed.Ticks);
        if (found.Count == 0) return 0;
        int notified = await _router.NotifyAsync(found, cancellationToken).ConfigureAwait(false);
        foreach (var location in found)
        {
            if (_waiting.TryGetValue((location.RunId, location.Round, location.Attempt), out var hospitals)) hospitals.Remove(location.HospitalId);
        }
        return notified;
    }

    private async Task RefreshAsync(CancellationToken cancellationToken)
    {
        var current = new HashSet<(string, int, int)>();
        var query = new OrchestrationQuery { Statuses = [OrchestrationRuntimeStatus.Running], FetchInputsAndOutputs = true, PageSize = 100 };
        await foreach (var run in _client.GetAllInstancesAsync(query).WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            if (run.Name != TaskNames.FederationOrchestrator || run.SerializedCustomStatus == null || run.SerializedInput == null) continue;
            var status = run.ReadCustomStatusAs<FederationStatus>();
            if (status?.Phase != FederationPhases.Training) continue;
            var key = (run.InstanceId, status.Round, status.Attempt);
            current.Add(key);
            if (_waiting.ContainsKey(key)) continue;
            var plan = run.ReadInputAs<FederationState>()!.Plan;
            var selected = ClientSampler.Select(plan.Hospitals, plan.Seed, status.Round, status.Attempt, plan.FractionFit, plan.MinFitClients,
                plan.MinAvailableClients);
            _waiting[key] = new HashSet<string>(selected, StringComparer.Ordinal);
        }
        foreach (var gone in _waiting.Keys.Where(k => !current.Contains(k)).ToArray()) _waiting.Remove(gone);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Upload watcher pass failed; trying again (the rounds' safety-net poll covers the gap)")]
    private static partial void PassFailed(ILogger logger, Exception error);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop != null)
        {
            try
            {
                await _loop.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Stopped.
            }
        }
        _stop.Dispose();
    }
}
