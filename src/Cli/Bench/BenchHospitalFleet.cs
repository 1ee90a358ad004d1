using System.Collections.Concurrent;
using System.Diagnostics;
using FedTune.Core.Adapters;
using FedTune.Core.Protocol;
using FedTune.Core.Randomness;

namespace FedTune.Cli.Bench;

/// <summary>
/// The orchestrator benchmark's hospitals: they play the agent's side of the blob protocol without training. Each
/// one, once it sees its round task, waits the set delay, then uploads a valid adapter (the round's global adapter plus
/// small offsets seeded by the hospital, distinct for every hospital, or a small GPT-NeoX-shaped LoRA when there is none yet) and its manifest, exactly in the
/// agent's order (adapter first, manifest last). One sweep over all hospitals looks for tasks (a GET each), so
/// thousands of hospitals cost one pass, not thousands of polling loops. <c>manifestWritten</c>, when given, is told of
/// each manifest as soon as it is written (what Event Grid's BlobCreated delivery does in Azure).
/// </summary>
public sealed class BenchHospitalFleet(BlobStore store, IReadOnlyList<string> hospitals, TimeSpan delay,
    Func<BlobRef, CancellationToken, Task>? manifestWritten = null) : IDisposable
{
    private const int Parallelism = 16;
    private readonly SemaphoreSlim _uploadSlots = new(Parallelism);
    private int _seen;
    private int _uploaded;

    /// <summary>Tasks seen and uploads completed in the round being played (for progress lines).</summary>
    public (int Seen, int Uploaded) Progress => (Volatile.Read(ref _seen), Volatile.Read(ref _uploaded));
    /// <summary>
    /// Shortest pause between sweeps; a sweep that took longer is followed by a pause as long, so the fleet's looks for
    /// tasks (one GET per waiting hospital) take at most half of storage's time, as the upload watcher's listings do
    /// (a real agent looks every 5 s or more: <c>Polling:MinInterval</c>).
    /// </summary>
    private static readonly TimeSpan SweepPause = TimeSpan.FromMilliseconds(250);

    /// <summary>When each hospital of the round saw its task and when its manifest was written.</summary>
    public sealed record RoundUploads(DateTimeOffset FirstTaskSeenUtc, DateTimeOffset LastTaskSeenUtc, DateTimeOffset LastUploadUtc);

    /// <summary>Plays round <paramref name="round"/> (attempt 0) for every hospital; returns when all have uploaded.</summary>
    public async Task<RoundUploads> PlayRoundAsync(string runId, int round, CancellationToken cancellationToken)
    {
        Volatile.Write(ref _seen, 0);
        Volatile.Write(ref _uploaded, 0);
        var waiting = new ConcurrentDictionary<string, bool>(hospitals.Select(h => KeyValuePair.Create(h, true)), StringComparer.Ordinal);
        var seen = new ConcurrentBag<DateTimeOffset>();
        var uploaded = new ConcurrentBag<DateTimeOffset>();
        var uploads = new ConcurrentBag<Task>();
        var globals = new ConcurrentDictionary<string, Task<LoraAdapter>>(StringComparer.Ordinal);
        while (!waiting.IsEmpty)
        {
            var sweep = Stopwatch.StartNew();
            await Parallel.ForEachAsync(waiting.Keys.ToArray(), new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = cancellationToken },
                async (hospital, token) =>
                {
                    var task = await store.TryReadJsonAsync<RoundTask>(BlobLayout.RoundTask(runId, round, hospital), token).ConfigureAwait(false);
                    if (task == null) return;
                    waiting.TryRemove(hospital, out _);
                    seen.Add(DateTimeOffset.UtcNow);
                    Interlocked.Increment(ref _seen);
                    uploads.Add(UploadAfterDelayAsync(task, globals, uploaded, cancellationToken));
                }).ConfigureAwait(false);
            if (!waiting.IsEmpty) await Task.Delay(sweep.Elapsed > SweepPause ? sweep.Elapsed : SweepPause, cancellationToken).ConfigureAwait(false);
        }
        await Task.WhenAll(uploads).ConfigureAwait(false);
        return new RoundUploads(seen.Min(), seen.Max(), uploaded.Max());
    }

    private async Task UploadAfterDelayAsync(RoundTask task, ConcurrentDictionary<string, Task<LoraAdapter>> globals,
        ConcurrentBag<DateTimeOffset> uploaded, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var start = task.GlobalAdapter == null
            ? BenchAdapters.Initial()
            : await globals.GetOrAdd(task.GlobalAdapter.Sha256, _ => ReadAsync(task.GlobalAdapter, cancellationToken)).ConfigureAwait(false);
        var remaining = delay - clock.Elapsed;
        if (remaining > TimeSpan.Zero) await Task.Delay(remaining, cancellationToken).ConfigureAwait(false);

        BlobRef manifest;
        await _uploadSlots.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            manifest = await UploadAsync(task, start, clock, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _uploadSlots.Release();
        }
        uploaded.Add(DateTimeOffset.UtcNow);
        Interlocked.Increment(ref _uploaded);
        // Outside the upload slots: the notice's delivery (Event Grid in Azure) does not hold up other hospitals' uploads.
        if (manifestWritten != null) await manifestWritten(manifest, cancellationToken).ConfigureAwait(false);
    }

    private async Task<BlobRef> UploadAsync(RoundTask task, LoraAdapter start, Stopwatch clock, CancellationToken cancellationToken)
    {
        var bytes = AdapterWireFormat.ToBytes(Trained(start, task.HospitalId, task.Round, task.Attempt));
        var adapter = await store.UploadContentAddressedAsync(bytes, sha => new BlobRef(task.Container, BlobLayout.UpdateAdapterName(task.UpdateFolder, sha)),
            cancellationToken).ConfigureAwait(false);
        var manifest = new BlobRef(task.Container, task.ManifestBlob);
        await store.TryCreateJsonAsync(manifest, new UpdateManifest
        {
            RunId = task.RunId, Round = task.Round, Attempt = task.Attempt, HospitalId = task.HospitalId, Adapter = adapter,
            BaseGlobalSha256 = task.GlobalAdapter?.Sha256, ExampleCount = 10,
            Metrics = new UpdateMetrics { TrainLoss = 2.0, StepsDone = task.Recipe.MaxSteps },
            Timings = new UpdateTimings { TrainSeconds = delay.TotalSeconds, BusySeconds = clock.Elapsed.TotalSeconds },
            AgentVersion = "bench", CompletedUtc = DateTimeOffset.UtcNow,
        }, cancellationToken).ConfigureAwait(false);
        return manifest;
    }

    public void Dispose() => _uploadSlots.Dispose();

    /// <summary>
    /// What a fake hospital "trained": the round's starting adapter plus a per-value offset in [0.001, 0.002) drawn from
    /// a generator seeded by the hospital, round and attempt. Every hospital's upload is distinct (the aggregation
    /// leaves bit-identical uploads out as copies) and all are about equally far from the global adapter, so none
    /// trips the norm-ratio check.
    /// </summary>
    public static LoraAdapter Trained(LoraAdapter start, string hospitalId, int round, int attempt)
    {
        ArgumentNullException.ThrowIfNull(start);
        var random = new SplitMix64(SplitMix64.Mix(round, attempt, SplitMix64.DeriveSeed(0, 0, hospitalId)));
        return start.With(t => t.Data.Select(v => v + 0.001f * (1 + (random.Next() >> 40) / (float)(1 << 24))).ToArray());
    }

    private async Task<LoraAdapter> ReadAsync(ContentRef content, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        await store.DownloadVerifiedAsync(content, buffer, cancellationToken).ConfigureAwait(false);
        buffer.Position = 0;
        return AdapterWireFormat.Read(buffer, content.Blob.ToString());
    }
}

/// <summary>The benchmark's adapter before any global one exists: 2 GPT-NeoX layers, r = 2 (A [2, 4], B [6, 2]).</summary>
internal static class BenchAdapters
{
    public static LoraAdapter Initial()
    {
        var tensors = new List<LoraTensor>();
        for (int layer = 0; layer < 2; layer++)
        {
            tensors.Add(new LoraTensor(PeftKeys.GptNeoXLoraA(layer), [2, 4], Enumerable.Repeat(0.01f, 8).ToArray()));
            tensors.Add(new LoraTensor(PeftKeys.GptNeoXLoraB(layer), [6, 2], Enumerable.Repeat(0f, 12).ToArray()));
        }
        return new LoraAdapter(new LoraAdapterConfig
        {
            R = 2, LoraAlpha = 4, TargetModules = ["query_key_value"], BaseModelNameOrPath = "EleutherAI/pythia-70m",
        }, tensors);
    }
}
