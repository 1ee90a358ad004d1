using System.Diagnostics;
using System.Globalization;
using FedTune.Core.Protocol;
using FedTune.Core.Storage;
using FedTune.Orchestration.Local;
using FedTune.Orchestration.Orchestrators;
using FedTune.Orchestration.Plans;
using Microsoft.DurableTask.Client;

namespace FedTune.Cli.Bench;

/// <summary>Settings of <c>fedtune bench orchestrator</c>.</summary>
public sealed record OrchestratorBenchmarkOptions
{
    public required int Hospitals { get; init; }
    public required int Rounds { get; init; }
    /// <summary>How long each fake hospital "trains" after it sees its task.</summary>
    public TimeSpan Delay { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>Hospitals per task-write and upload-check activity.</summary>
    public int BatchSize { get; init; } = FederationPlan.DefaultBatchSize;
    /// <summary>Who raises the upload notices: the local host's upload watcher (as in <c>fedtune simulate</c>), or each
    /// hospital's manifest write directly, one notice per upload, as Event Grid's BlobCreated delivery does in Azure.</summary>
    public BenchNotices Notices { get; init; } = BenchNotices.Watcher;
    /// <summary>The local host's warnings and errors (the Durable Task provider, sidecar and worker) go here.</summary>
    public string LogPath { get; init; } = Path.Combine(Path.GetTempPath(), "fedtune-bench", "orchestrator.log");
}

/// <summary>Where the benchmark's upload notices come from.</summary>
public enum BenchNotices
{
    /// <summary>The local host's <see cref="UploadWatcher"/> lists each waiting hospital's round folder.</summary>
    Watcher,
    /// <summary>
    /// Each manifest write is told to the orchestrator as it happens, the Azure path (Event Grid's BlobCreated per manifest,
    /// gathered by <see cref="FedTune.Orchestration.Events.UploadNoticeBatcher"/> like the Functions app's trigger); the watcher is off.
    /// </summary>
    Direct,
}

/// <summary>One round's measured figures.</summary>
public sealed record OrchestratorRoundFigures(int Round, double DurationSeconds, double TasksSeenSeconds, double LastUploadSeconds,
    double AfterLastUploadSeconds, double AggregationSeconds, double OverheadSeconds, double PerHospitalMilliseconds);

/// <summary>
/// The orchestrator's cost at scale: a private Azurite, the real local host (the same orchestrations, activities and
/// upload watcher as <c>fedtune simulate</c>) and N fake hospitals (<see cref="BenchHospitalFleet"/>) that upload a valid
/// adapter a set delay after they see their task. A round's overhead is its duration (round start to aggregated, from
/// the round record) minus that delay: task writes, the hospitals' uploads, the upload notices and checks, aggregation.
/// </summary>
public static class OrchestratorBenchmark
{
    public static async Task<IReadOnlyList<OrchestratorRoundFigures>> RunAsync(OrchestratorBenchmarkOptions options, TextWriter output,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(output);
        using var requests = new StorageRequestCounter();
        var setup = Stopwatch.StartNew();
        using var azurite = await AzuriteProcess.StartAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        using var logs = FileLoggerProvider.CreateFactory(options.LogPath);
        await using var host = await LocalOrchestratorHost.StartAsync(azurite.ConnectionString, new LocalOrchestratorOptions
        {
            TaskHubName = "bench",
            ServeApi = false,
            // Aggregating thousands of updates takes longer than the local default's minute.
            WorkItemVisibilityTimeout = TimeSpan.FromMinutes(10),
            ControlQueueVisibilityTimeout = TimeSpan.FromMinutes(2),
            UploadWatchInterval = options.Notices == BenchNotices.Watcher ? new LocalOrchestratorOptions().UploadWatchInterval : TimeSpan.Zero,
            LoggerFactory = logs,
        }, cancellationToken).ConfigureAwait(false);
        var ids = Enumerable.Range(0, options.Hospitals).Select(i => "h" + i.ToString("D5", CultureInfo.InvariantCulture)).ToArray();
        // The fake hospitals' own client (its User-Agent tells their requests apart from the orchestrator's).
        var hospitalStore = new BlobStore(new Azure.Storage.Blobs.BlobServiceClient(azurite.ConnectionString,
            new Azure.Storage.Blobs.BlobClientOptions { Diagnostics = { ApplicationId = StorageRequestCounter.FleetApplicationId } }));
        await Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = cancellationToken },
            async (id, token) =>
            {
                await hospitalStore.EnsureContainerAsync(BlobLayout.HospitalContainer(id), token).ConfigureAwait(false);
                // The orchestrator's store checks each container once per process; warmed here so round 1 measures like the rest.
                await host.Store.EnsureContainerAsync(BlobLayout.HospitalContainer(id), token).ConfigureAwait(false);
            }).ConfigureAwait(false);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"setup: Azurite, local host, {options.Hospitals} hospital containers in {setup.Elapsed.TotalSeconds:F1} s; host warnings and errors in {options.LogPath}"));

        var runId = "bench-" + options.Hospitals.ToString(CultureInfo.InvariantCulture);
        var deadline = TimeSpan.FromHours(2);
        await host.Operator.StartPlanAsync(new FederationPlan
        {
            RunId = runId,
            Rounds = options.Rounds,
            Hospitals = ids,
            MinFitClients = options.Hospitals,
            MinAvailableClients = options.Hospitals,
            RoundDeadline = deadline,
            // A tiny GPT-NeoX shape (2 layers, hidden 4, r 2): the round-0 adapter the benchmark's hospitals add to.
            BaseModelShape = new FedTune.Core.Adapters.BaseModelShape { HiddenSize = 4, IntermediateSize = 8, NumHiddenLayers = 2, VocabSize = 16, TieWordEmbeddings = true },
            Recipe = new FedTune.Core.Configuration.TrainingRecipe
            {
                BaseModel = "EleutherAI/pythia-70m", LearningRate = 5e-4, MaxSteps = 5, Lora = new FedTune.Core.Configuration.LoraConfig { R = 2, Alpha = 4 },
            },
            Aggregation = new AggregationSettings(),
            SaveEveryRound = 1,
            SaveTotalLimit = 2,
            Monitor = FederationPlanBuilder.MonitorFor(deadline),
            BatchSize = options.BatchSize,
        }, cancellationToken).ConfigureAwait(false);

        // The Azure path: each manifest's BlobCreated event, gathered by the same batcher as the Functions app's trigger.
        var batcher = new FedTune.Orchestration.Events.UploadNoticeBatcher(new FedTune.Orchestration.Events.UploadEventRouter(host.Client),
            FedTune.Orchestration.Events.UploadNoticeBatcher.DefaultWindow);
        using var fleet = new BenchHospitalFleet(hospitalStore, ids, options.Delay, options.Notices == BenchNotices.Watcher ? null
            : (manifest, token) => batcher.NotifyAsync(FedTune.Orchestration.Events.UploadLocation.FromBlob(manifest.Container, manifest.Name)!, token));
        var figures = new List<OrchestratorRoundFigures>();
        for (int round = 1; round <= options.Rounds; round++)
        {
            var watcherBefore = host.UploadWatcherTotals;
            var requestsBefore = requests.Snapshot();
            using var playing = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var play = fleet.PlayRoundAsync(runId, round, playing.Token);
            var recordTask = WaitForRecordAsync(host, runId, round, fleet, output, options.LogPath, cancellationToken);
            if (await Task.WhenAny(play, recordTask).ConfigureAwait(false) == recordTask && recordTask.IsFaulted)
            {
                await playing.CancelAsync().ConfigureAwait(false);
                await recordTask.ConfigureAwait(false);
            }
            var uploads = await play.ConfigureAwait(false);
            var record = await recordTask.ConfigureAwait(false);
            if (record.Participants.Count != options.Hospitals)
            {
                var left = record.Rejected.Concat(record.Failed).Concat(record.Stragglers.Select(h => new RoundExclusion(h, FailureReasons.DeadlinePassed, "no upload")))
                    .ToArray();
                throw new InvalidOperationException($"round {round} aggregated {record.Participants.Count} of {options.Hospitals} updates; left out: " +
                    ExclusionSummary.Describe(left) + ".");
            }
            double duration = (record.AggregatedUtc - record.RoundStartedUtc).TotalSeconds;
            double overhead = duration - options.Delay.TotalSeconds;
            var row = new OrchestratorRoundFigures(round, duration,
                (uploads.LastTaskSeenUtc - record.RoundStartedUtc).TotalSeconds,
                (uploads.LastUploadUtc - record.RoundStartedUtc).TotalSeconds,
                (record.AggregatedUtc - uploads.LastUploadUtc).TotalSeconds,
                record.AggregationSeconds, overhead, overhead * 1000 / options.Hospitals);
            figures.Add(row);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"round {round}: duration {row.DurationSeconds:F2} s (delay {options.Delay.TotalSeconds:F1} s); all tasks seen at {row.TasksSeenSeconds:F2} s, " +
                $"last upload at {row.LastUploadSeconds:F2} s, aggregated {row.AfterLastUploadSeconds:F2} s after it (aggregation {row.AggregationSeconds:F2} s); " +
                $"overhead {row.OverheadSeconds:F2} s = {row.PerHospitalMilliseconds:F1} ms per hospital"));
            var watcher = host.UploadWatcherTotals;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  upload watcher (by round {round}'s record): {watcher.Passes - watcherBefore.Passes} passes, {watcher.Listings - watcherBefore.Listings} folder listings, " +
                $"{(watcher.Busy - watcherBefore.Busy).TotalSeconds:F1} s listing"));
            var requestsAfter = requests.Snapshot();
            var (ours, theirs) = StorageRequestCounter.Totals(requestsBefore, requestsAfter);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  storage requests by round {round}'s record: orchestrator {ours:N0} ({(double)ours / options.Hospitals:F1} per hospital), fake hospitals {theirs:N0} " +
                $"({(double)theirs / options.Hospitals:F1} per hospital), together {(ours + theirs) / Math.Max(0.001, duration):F0}/s: {StorageRequestCounter.Describe(requestsBefore, requestsAfter)}"));
        }
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        wait.CancelAfter(TimeSpan.FromMinutes(5));
        var done = await host.Client.WaitForInstanceCompletionAsync(runId, getInputsAndOutputs: false, wait.Token).ConfigureAwait(false);
        if (done.RuntimeStatus != OrchestrationRuntimeStatus.Completed) throw new InvalidOperationException($"the run ended {done.RuntimeStatus.ToString().ToLowerInvariant()} after its last round.");
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"hospitals={options.Hospitals} rounds={options.Rounds} delay={options.Delay.TotalSeconds:F1}s batch={options.BatchSize} notices={options.Notices.ToString().ToLowerInvariant()} " +
            $"mean_overhead={figures.Average(f => f.OverheadSeconds):F2}s mean_after_last_upload={figures.Average(f => f.AfterLastUploadSeconds):F2}s " +
            $"per_hospital_ms={figures.Average(f => f.PerHospitalMilliseconds):F1}"));
        await host.StopAsync(CancellationToken.None).ConfigureAwait(false);
        return figures;
    }

    /// <summary>Waits for the round's record, printing progress every 15 s; throws when the run ends without it.</summary>
    private static async Task<RoundRecord> WaitForRecordAsync(LocalOrchestratorHost host, string runId, int round, BenchHospitalFleet fleet,
        TextWriter output, string logPath, CancellationToken cancellationToken)
    {
        var progress = Stopwatch.StartNew();
        while (true)
        {
            var record = await host.Store.TryReadJsonAsync<RoundRecord>(BlobLayout.RoundRecord(runId, round), cancellationToken).ConfigureAwait(false);
            if (record != null) return record;
            var run = await host.Client.GetInstanceAsync(runId, getInputsAndOutputs: true, cancellationToken).ConfigureAwait(false);
            if (run is { IsCompleted: true })
            {
                throw new InvalidOperationException($"the run ended {run.RuntimeStatus.ToString().ToLowerInvariant()} before round {round} was aggregated: " +
                    (FedTune.Orchestration.Api.OperatorApi.FailureReason(run) ?? "no reason given").Trim('"') + " (the host's log: " + logPath + ")");
            }
            if (progress.Elapsed > TimeSpan.FromSeconds(15))
            {
                progress.Restart();
                var (seen, uploaded) = fleet.Progress;
                var status = run?.ReadCustomStatusAs<FedTune.Orchestration.Status.FederationStatus>();
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  round {round}: {seen} tasks seen, {uploaded} uploaded; orchestrator: {status?.Phase}, {status?.Counts.Uploaded} uploads checked, {status?.Counts.Pending} pending"));
            }
            await Task.Delay(250, cancellationToken).ConfigureAwait(false);
        }
    }
}
