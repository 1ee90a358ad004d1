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

        LoraAdapter? global = null;
        if (task.GlobalAdapter != null)
        {
            using var buffer = new MemoryStream();
            await _store.DownloadVerifiedAsync(task.GlobalAdapter, buffer, cancellationToken);
            buffer.Position = 0;
            global = AdapterWireFormat.Read(buffer);
        }
        byte[] bytes = behaviour switch
        {
            AgentBehaviour.Corrupt => "this is not a safetensors file"u8.ToArray(),
            AgentBehaviour.NaN => AdapterWireFormat.ToBytes(TestAdapters.FromFunction((n, i) => i == 3 ? float.NaN : 1f)),
            _ => AdapterWireFormat.ToBytes(global == null
                ? TestAdapters.Filled(Offset)
                : global.With(t => t.Data.Select(v => v + Offset).ToArray())),
        };
        var adapter = await _store.UploadContentAddressedAsync(bytes, sha => new BlobRef(task.Container, BlobLayout.UpdateAdapterName(task.UpdateFolder, sha)),
            cancellationToken);
        await _store.TryCreateJsonAsync(new BlobRef(task.Container, task.ManifestBlob), new UpdateManifest
        {
            RunId = task.RunId, Round = task.Round, Attempt = task.Attempt, HospitalId = HospitalId, Adapter = adapter,
            BaseGlobalSha256 = task.GlobalAdapter?.Sha256, ExampleCount = ExampleCount,
            Metrics = new UpdateMetrics { TrainLoss = 2.0 + Offset, StepsDone = task.Recipe.MaxSteps, HeldOutNll = 1.5 + Offset, HeldOutTokens = ExampleCount * 10, HeldOutExamples = ExampleCount },
            Timings = new UpdateTimings { TrainSeconds = 0.01 },
            AgentVersion = "fake-1", CompletedUtc = DateTimeOffset.UtcNow,
        }, cancellationToken);
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
