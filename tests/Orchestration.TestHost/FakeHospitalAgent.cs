using FedTune.Core.Adapters;
using FedTune.Core.Protocol;

namespace FedTune.Orchestration.TestHost;

/// <summary>What a fake hospital does with a task.</summary>
public enum AgentBehaviour
{
    /// <summary>Upload global + offset with its example count.</summary>
    Train,
    /// <summary>Never upload (a straggler).</summary>
    Silent,
    /// <summary>Upload bytes that are not an adapter (hash in the manifest matches them).</summary>
    Corrupt,
    /// <summary>Upload an adapter that contains NaN.</summary>
    NaN,
    /// <summary>Write a failed-task marker.</summary>
    Fail,
    /// <summary>Hostile: upload global + 9 × offset (a scaled update).</summary>
    Scaled,
    /// <summary>Hostile: an honest update that declares 1e9 training examples.</summary>
    HugeExampleCount,
    /// <summary>Hostile or misconfigured: an adapter of rank 4 whatever the recipe says.</summary>
    WrongRank,
    /// <summary>Hostile: upload global − offset (the update's sign flipped).</summary>
    SignFlipped,
    /// <summary>Hostile or broken: every tensor all zeros.</summary>
    AllZero,
    /// <summary>Hostile: in later rounds, re-upload this hospital's first-round adapter and manifest.</summary>
    Replay,
    /// <summary>Hostile: a manifest that names another hospital (<see cref="FakeHospitalAgent.Other"/>) as its author.</summary>
    ForeignTask,
    /// <summary>Hostile: upload a byte-for-byte copy of another hospital's (<see cref="FakeHospitalAgent.Other"/>) update.</summary>
    CopyOther,
    /// <summary>Upload twice: a second adapter and a second manifest after the first (the manifest is create-once).</summary>
    DoubleUpload,
}

/// <summary>
/// Test code playing the hospital agent's side of the blob protocol: it lists its own container for round tasks,
/// checks the global adapter's hash, uploads an adapter (content-addressed) and then the manifest. The "training"
/// is arithmetic: every element becomes global + <see cref="Offset"/>, so the FedAvg result can be computed by hand.
/// </summary>
public sealed class FakeHospitalAgent
{
    private readonly BlobStore _store;
    private readonly HashSet<string> _done = new(StringComparer.Ordinal);

    public FakeHospitalAgent(BlobStore store, string hospitalId, float offset, long exampleCount, Func<RoundTask, AgentBehaviour>? behaviour = null)
    {
        _store = store;
        HospitalId = hospitalId;
        Offset = offset;
        ExampleCount = exampleCount;
        Behaviour = behaviour ?? (_ => AgentBehaviour.Train);
    }

    public string HospitalId { get; }
    public float Offset { get; }
    public long ExampleCount { get; }
    public Func<RoundTask, AgentBehaviour> Behaviour { get; }
    public int TasksSeen { get; private set; }

    /// <summary>The hospital a <see cref="AgentBehaviour.ForeignTask"/> manifest names, or whose upload <see cref="AgentBehaviour.CopyOther"/> copies.</summary>
    public string Other { get; init; } = "";

    private UpdateManifest? _firstManifest;

    /// <summary>While set, tasks of this round are left alone (not even marked as seen), as if the hospital were busy.</summary>
    public int HoldRound
    {
        get => Volatile.Read(ref _holdRound);
        set => Volatile.Write(ref _holdRound, value);
    }

    private int _holdRound;

    /// <summary>Handles every new task of <paramref name="runId"/> in the container; returns how many it handled.</summary>
    public async Task<int> PollOnceAsync(string runId, CancellationToken cancellationToken)
    {
        int handled = 0;
        var container = BlobLayout.HospitalContainer(HospitalId);
        var names = new List<string>();
        await foreach (var name in _store.ListNamesAsync(container, $"runs/{runId}/", cancellationToken)) names.Add(name);
        foreach (var name in names.Where(n => n.EndsWith("/" + BlobLayout.TaskFileName, StringComparison.Ordinal)))
        {
            if (_done.Contains(name)) continue;
            var task = await _store.TryReadJsonAsync<RoundTask>(new BlobRef(container, name), cancellationToken);
            if (task == null || task.Round == HoldRound) continue;
            _done.Add(name);
            TasksSeen++;
            await HandleAsync(task, cancellationToken);
            handled++;
        }
        return handled;
    }

    private async Task HandleAsync(RoundTask task, CancellationToken cancellationToken)
    {
        var behaviour = Behaviour(task);
        if (behaviour == AgentBehaviour.Silent) return;
        if (behaviour == AgentBehaviour.Fail)
        {
            await _store.TryCreateJsonAsync(new BlobRef(task.Container, task.FailedMarkerBlob), new FailedTaskMarker
            {
                RunId = task.RunId, Round = task.Round, Attempt = task.Attempt, HospitalId = HospitalId,
                ReasonCode = FailureReasons.DataMissing, Message = "data file /data/missing.json does not exist",
                AgentVersion = "fake-1", WrittenUtc = DateTimeOffset.UtcNow,
            }, cancellationToken);
            return;
        }

        using var buffer = new MemoryStream();
        await _store.DownloadVerifiedAsync(task.GlobalAdapter, buffer, cancellationToken);
        buffer.Position = 0;
        var global = AdapterWireFormat.Read(buffer);

        if (behaviour == AgentBehaviour.Replay && _firstManifest != null)
        {
            // The first round's manifest, verbatim, at this round's manifest place.
            await _store.TryCreateJsonAsync(new BlobRef(task.Container, task.ManifestBlob), _firstManifest, cancellationToken);
            return;
        }
        byte[] bytes;
        if (behaviour == AgentBehaviour.CopyOther)
        {
            var otherManifest = await WaitForManifestAsync(task, Other, cancellationToken);
            bytes = (await _store.TryReadAllBytesAsync(otherManifest.Adapter.Blob, cancellationToken))!;
        }
        else
        {
            bytes = behaviour switch
            {
                AgentBehaviour.Corrupt => "this is not a safetensors file"u8.ToArray(),
                AgentBehaviour.NaN => AdapterWireFormat.ToBytes(global.With(t => t.Data.Select((v, i) => i == 3 ? float.NaN : v + Offset).ToArray())),
                AgentBehaviour.Scaled => AdapterWireFormat.ToBytes(global.With(t => t.Data.Select(v => v + 9 * Offset).ToArray())),
                AgentBehaviour.SignFlipped => AdapterWireFormat.ToBytes(global.With(t => t.Data.Select(v => v - Offset).ToArray())),
                AgentBehaviour.AllZero => AdapterWireFormat.ToBytes(global.With(t => new float[t.Data.Length])),
                AgentBehaviour.WrongRank => AdapterWireFormat.ToBytes(RankFour(global, Offset)),
                _ => AdapterWireFormat.ToBytes(global.With(t => t.Data.Select(v => v + Offset).ToArray())),
            };
        }
        var manifest = await UploadAsync(task, bytes, behaviour, cancellationToken);
        _firstManifest ??= manifest;
        if (behaviour == AgentBehaviour.DoubleUpload)
        {
            // A second, different update: its manifest cannot replace the first (create-once), so it is never aggregated.
            await UploadAsync(task, AdapterWireFormat.ToBytes(global.With(t => t.Data.Select(v => v + 50 * Offset).ToArray())), behaviour, cancellationToken);
        }
    }

    private async Task<UpdateManifest> UploadAsync(RoundTask task, byte[] bytes, AgentBehaviour behaviour, CancellationToken cancellationToken)
    {
        var adapter = await _store.UploadContentAddressedAsync(bytes, sha => new BlobRef(task.Container, BlobLayout.UpdateAdapterName(task.UpdateFolder, sha)),
            cancellationToken);
        var manifest = new UpdateManifest
        {
            RunId = task.RunId, Round = task.Round, Attempt = task.Attempt,
            HospitalId = behaviour == AgentBehaviour.ForeignTask ? Other : HospitalId, Adapter = adapter,
            BaseGlobalSha256 = task.GlobalAdapter.Sha256, ExampleCount = behaviour == AgentBehaviour.HugeExampleCount ? 1_000_000_000 : ExampleCount,
            Metrics = new UpdateMetrics { TrainLoss = 2.0 + Offset, StepsDone = task.Recipe.MaxSteps, HeldOutNll = 1.5 + Offset, HeldOutTokens = ExampleCount * 10, HeldOutExamples = ExampleCount },
            Timings = new UpdateTimings { TrainSeconds = 0.01 },
            AgentVersion = "fake-1", CompletedUtc = DateTimeOffset.UtcNow,
        };
        await _store.TryCreateJsonAsync(new BlobRef(task.Container, task.ManifestBlob), manifest, cancellationToken);
        return manifest;
    }

    private async Task<UpdateManifest> WaitForManifestAsync(RoundTask task, string hospital, CancellationToken cancellationToken)
    {
        var where = BlobLayout.UpdateManifest(task.RunId, task.Round, hospital, task.Attempt);
        while (true)
        {
            var manifest = await _store.TryReadJsonAsync<UpdateManifest>(where, cancellationToken);
            if (manifest != null) return manifest;
            await Task.Delay(100, cancellationToken);
        }
    }

    /// <summary>The same modules at rank 4 (A [4, in], B [out, 4]): what a hospital configured with another r uploads.</summary>
    private static LoraAdapter RankFour(LoraAdapter global, float offset)
    {
        var tensors = global.Tensors.Select(t => PeftKeys.IsLoraA(t.Name, out _)
            ? new LoraTensor(t.Name, [4, t.Shape[1]], Enumerable.Repeat(offset, (int)(4 * t.Shape[1])).ToArray())
            : new LoraTensor(t.Name, [t.Shape[0], 4], Enumerable.Repeat(offset, (int)(t.Shape[0] * 4)).ToArray())).ToList();
        return new LoraAdapter(global.Config with { R = 4, LoraAlpha = 2 * 4 }, tensors);
    }
}

/// <summary>Runs fake agents in the background until disposed.</summary>
public sealed class FakeFederation : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public FakeFederation(string runId, IReadOnlyList<FakeHospitalAgent> agents, TimeSpan? pollInterval = null)
    {
        Agents = agents;
        _loop = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                try
                {
                    await Task.WhenAll(agents.Select(a => a.PollOnceAsync(runId, _stop.Token)));
                    await Task.Delay(pollInterval ?? TimeSpan.FromMilliseconds(200), _stop.Token);
                }
                catch (OperationCanceledException) when (_stop.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception e) when (e is Azure.RequestFailedException or IOException or TimeoutException or HttpRequestException)
                {
                    // A busy emulator: poll again, as a real agent does after a storage error.
                    await Task.Delay(pollInterval ?? TimeSpan.FromMilliseconds(200), CancellationToken.None);
                }
            }
        });
    }

    public IReadOnlyList<FakeHospitalAgent> Agents { get; }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try { await _loop; }
        catch (OperationCanceledException) { }
        _stop.Dispose();
    }
}
