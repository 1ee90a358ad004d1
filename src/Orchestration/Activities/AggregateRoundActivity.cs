using System.Diagnostics;
using FedTune.Core.Adapters;
using FedTune.Core.Aggregation;
using FedTune.Core.Protocol;
using FedTune.Orchestration.Aggregation;
using FedTune.Orchestration.Orchestrators;
using Microsoft.DurableTask;

namespace FedTune.Orchestration.Activities;

/// <summary>
/// Aggregates one round with the core library's <see cref="StreamingAggregator"/>: downloads each uploaded adapter
/// from its hospital's container into a temporary file (SHA-256 and size checked against the manifest), lets the
/// core validate every update (readable, same structure, finite, weight, norm ratio, frozen tensors) and apply the
/// strategy and DP, then writes the new global adapter (content-addressed), the server state and the round record
/// (create-once). A repeated delivery finds the record and returns it, so the run keeps the first result.
/// Short by design: no training, one pass over the updates plus the core's streaming reads.
/// </summary>
public sealed class AggregateRoundActivity(BlobStore store) : TaskActivity<AggregateRequest, AggregateResult>
{
    /// <summary>Concurrent update downloads from the hospitals' containers.</summary>
    public const int MaxParallelDownloads = 16;

    public override Task<AggregateResult> RunAsync(TaskActivityContext context, AggregateRequest input) =>
        ExecuteAsync(input, CancellationToken.None);

    public async Task<AggregateResult> ExecuteAsync(AggregateRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var recordRef = BlobLayout.RoundRecord(request.RunId, request.Round);
        var existing = await store.TryReadJsonAsync<RoundRecord>(recordRef, cancellationToken).ConfigureAwait(false);
        if (existing != null) return ResultFrom(existing, recordRef, request, request.PrivacyLedger);

        var clock = Stopwatch.StartNew();
        var folder = Directory.CreateTempSubdirectory("fedtune-aggregate-");
        try
        {
            long bytesRead = 0;
            LoraAdapter? global = null;
            if (request.GlobalAdapter != null)
            {
                global = await ReadAdapterAsync(request.GlobalAdapter, cancellationToken).ConfigureAwait(false);
                bytesRead += request.GlobalAdapter.Bytes;
            }

            // Downloads run in parallel (storage latency dominates with many hospitals); results are put back in hospital order.
            var uploaded = request.Outcomes.Where(o => o.State == HospitalRoundState.Uploaded).OrderBy(o => o.HospitalId, StringComparer.Ordinal).ToArray();
            var fetched = new (UpdateManifest? Manifest, string? Path, RoundExclusion? Exclusion)[uploaded.Length];
            await Parallel.ForEachAsync(Enumerable.Range(0, uploaded.Length),
                new ParallelOptions { MaxDegreeOfParallelism = MaxParallelDownloads, CancellationToken = cancellationToken },
                async (i, token) => fetched[i] = await DownloadUpdateAsync(uploaded[i], folder.FullName, token).ConfigureAwait(false)).ConfigureAwait(false);
            var rejected = new List<RoundExclusion>();
            var downloaded = new List<(UpdateManifest Manifest, string Path)>();
            foreach (var (manifest, path, exclusion) in fetched)
            {
                if (exclusion != null)
                {
                    rejected.Add(exclusion);
                    continue;
                }
                bytesRead += manifest!.Adapter.Bytes;
                downloaded.Add((manifest, path!));
            }

            // Without a global adapter (first round, no checkpoint) the average starts from zeros shaped like the first
            // readable update, and the round is a (DP-)FedAvg mean: server optimizers need a previous global adapter.
            bool initialRound = global == null;
            global ??= ZerosLike(downloaded.Select(d => d.Path));
            var settings = initialRound ? request.Aggregation with { Strategy = "fedavg" } : request.Aggregation;
            var byHospital = downloaded.ToDictionary(d => BlobLayout.NormalizeHospitalId(d.Manifest.HospitalId), StringComparer.Ordinal);
            ContentRef? newGlobal = null;
            ContentRef? serverState = request.ServerState;
            string? ledger = request.PrivacyLedger;
            AggregationResult? result = null;
            var participants = new List<RoundParticipant>();
            if (global != null)
            {
                var aggregator = CoreAggregation.Create(settings, request.Aggregation.FreezeA);
                var state = initialRound || request.ServerState == null
                    ? null
                    : ServerOptimizerState.FromBytes(await ReadBytesAsync(request.ServerState, cancellationToken).ConfigureAwait(false));
                var updates = byHospital.Select(p => ClientUpdate.FromWire(p.Key, p.Value.Manifest.ExampleCount,
                    () => File.OpenRead(p.Value.Path), p.Value.Manifest.Adapter.Sha256)).ToList();
                result = aggregator.Aggregate(global, updates,
                    new RoundContext(request.Round, request.Selected.Count, request.TotalHospitals, request.MinFitClients),
                    state, CoreAggregation.Ledger(request.PrivacyLedger));
                foreach (var validation in result.Validations)
                {
                    var manifest = byHospital[validation.ClientId].Manifest;
                    if (validation.Accepted)
                    {
                        participants.Add(new RoundParticipant(validation.ClientId, manifest.ExampleCount, 0, manifest.Metrics, manifest.Adapter.Bytes,
                            manifest.Adapter.Sha256));
                    }
                    else
                    {
                        rejected.Add(new RoundExclusion(validation.ClientId, ReasonCode(validation.Verdict),
                            $"{manifest.Adapter.Blob}: {validation.Reason}"));
                    }
                }
                if (result.QuorumMet && participants.Count >= request.MinFitClients)
                {
                    var globalBytes = Core.Compression.CompressedAdapterWire.ToBytes(result.Global, request.WirePrecision,
                        Sampling.SplitMix64.DeriveSeed(request.Seed, request.Round, "global-wire"));
                    newGlobal = await store.UploadContentAddressedAsync(globalBytes,
                        sha => BlobLayout.GlobalAdapter(request.RunId, request.Round, sha), cancellationToken).ConfigureAwait(false);
                    if (!initialRound && (result.State.M != null || result.State.V != null))
                    {
                        serverState = await store.UploadContentAddressedAsync(result.State.ToBytes(),
                            sha => BlobLayout.ServerState(request.RunId, request.Round, sha), cancellationToken).ConfigureAwait(false);
                    }
                    ledger = result.Accountant?.ToJson() ?? ledger;
                }
            }

            long totalExamples = participants.Sum(p => p.ExampleCount);
            participants = participants.Select(p => p with { Weight = totalExamples == 0 ? 0 : p.ExampleCount / (double)totalExamples }).ToList();
            rejected.Sort((a, b) => string.CompareOrdinal(a.HospitalId, b.HospitalId));
            var record = new RoundRecord
            {
                RunId = request.RunId,
                Round = request.Round,
                Attempt = request.Attempt,
                Strategy = settings.Strategy + (settings.DifferentialPrivacy != null ? "+dp" : ""),
                Selected = request.Selected,
                Participants = participants,
                Stragglers = request.Outcomes.Where(o => o.State == HospitalRoundState.Straggler).Select(o => o.HospitalId).Order(StringComparer.Ordinal).ToArray(),
                Failed = request.Outcomes.Where(o => o.State == HospitalRoundState.Failed)
                    .Select(o => new RoundExclusion(o.HospitalId, o.ReasonCode ?? FailureReasons.TrainingError, o.Message ?? "")).ToArray(),
                Rejected = rejected,
                TotalExamples = totalExamples,
                Metrics = RoundMetricsCalculator.WeightedAverages(participants.Select(p => byHospital[p.HospitalId].Manifest).ToList()),
                GlobalAdapter = newGlobal,
                ServerState = newGlobal == null ? null : serverState,
                BytesRead = bytesRead,
                BytesWritten = newGlobal?.Bytes ?? 0,
                RoundStartedUtc = request.RoundStartedUtc,
                AggregatedUtc = DateTimeOffset.UtcNow,
                AggregationSeconds = clock.Elapsed.TotalSeconds,
                DpEpsilon = newGlobal == null ? null : result?.Privacy?.Epsilon,
                DpDelta = newGlobal == null ? null : result?.Privacy?.Delta,
                LoraProductError = result is { QuorumMet: true, LoraProductErrors.Count: > 0 } ? result.LoraProductErrorOverall : null,
            };
            if (newGlobal != null)
            {
                // First writer wins: a second delivery keeps the record (and the adapter it names) the first one wrote.
                await store.TryCreateJsonAsync(recordRef, record, cancellationToken).ConfigureAwait(false);
                var kept = await store.TryReadJsonAsync<RoundRecord>(recordRef, cancellationToken).ConfigureAwait(false) ?? record;
                return ResultFrom(kept, recordRef, request, kept.AggregatedUtc == record.AggregatedUtc ? ledger : request.PrivacyLedger);
            }

            // A failed attempt is recorded beside the round's record so a retried attempt can still write the real one.
            var failedRef = new BlobRef(BlobLayout.GlobalContainer, recordRef.Name.Replace("record.json", $"failed-attempt-{request.Attempt}.json", StringComparison.Ordinal));
            await store.TryCreateJsonAsync(failedRef, record, cancellationToken).ConfigureAwait(false);
            return ResultFrom(record, failedRef, request, request.PrivacyLedger) with
            {
                Produced = false,
                Problem = $"only {participants.Count} usable update(s) after validation but min_fit_clients is {request.MinFitClients}" +
                          (rejected.Count > 0 ? " (rejected: " + string.Join("; ", rejected.Select(r => $"{r.HospitalId}: {r.Message}")) + ")" : "") + ".",
            };
        }
        finally
        {
            try { folder.Delete(recursive: true); }
            catch (IOException) { }
        }
    }

    private static string ReasonCode(UpdateVerdict verdict) => verdict switch
    {
        UpdateVerdict.Unreadable => FailureReasons.UpdateUnreadable,
        UpdateVerdict.HashMismatch => FailureReasons.UpdateHashMismatch,
        _ => FailureReasons.UpdateInvalid,
    };

    private static LoraAdapter? ZerosLike(IEnumerable<string> paths)
    {
        foreach (var path in paths)
        {
            try
            {
                using var stream = File.OpenRead(path);
                return AdapterWireFormat.Read(stream, path).With(t => new float[t.Data.Length]);
            }
            catch (Exception e) when (e is AdapterFormatException or Core.Formats.SafetensorsFormatException or InvalidDataException or EndOfStreamException)
            {
                // Not readable: the validator reports it; try the next update.
            }
        }
        return null;
    }

    private async Task<(UpdateManifest? Manifest, string? Path, RoundExclusion? Exclusion)> DownloadUpdateAsync(
        HospitalRoundOutcome outcome, string folder, CancellationToken cancellationToken)
    {
        var manifestRef = new BlobRef(BlobLayout.HospitalContainer(outcome.HospitalId), outcome.ManifestBlob!);
        UpdateManifest? manifest;
        try
        {
            manifest = await store.TryReadJsonAsync<UpdateManifest>(manifestRef, cancellationToken).ConfigureAwait(false);
        }
        catch (ProtocolFormatException e)
        {
            return (null, null, new RoundExclusion(outcome.HospitalId, FailureReasons.ManifestInvalid, e.Message));
        }
        if (manifest == null)
        {
            return (null, null, new RoundExclusion(outcome.HospitalId, FailureReasons.ManifestInvalid, $"{manifestRef} disappeared after the check."));
        }
        var path = Path.Combine(folder, BlobLayout.NormalizeHospitalId(outcome.HospitalId) + ".safetensors");
        try
        {
            await using var file = File.Create(path);
            await store.DownloadVerifiedAsync(manifest.Adapter, file, cancellationToken).ConfigureAwait(false);
            return (manifest, path, null);
        }
        catch (ContentHashMismatchException e)
        {
            return (manifest, null, new RoundExclusion(outcome.HospitalId, FailureReasons.UpdateHashMismatch, e.Message));
        }
        catch (Azure.RequestFailedException e) when (e.Status == 404)
        {
            return (manifest, null, new RoundExclusion(outcome.HospitalId, FailureReasons.UpdateUnreadable, $"{manifest.Adapter.Blob} does not exist ({e.ErrorCode})."));
        }
    }

    internal static AggregateResult ResultFrom(RoundRecord record, BlobRef recordRef, AggregateRequest request, string? ledger) => new()
    {
        Produced = record.GlobalAdapter != null,
        GlobalAdapter = record.GlobalAdapter,
        ServerState = record.GlobalAdapter == null ? request.ServerState : record.ServerState,
        RoundRecord = recordRef,
        PrivacyLedger = ledger,
        Summary = new RoundSummary(record.Round, record.Attempt, record.Participants.Count, record.Stragglers.Count, record.Failed.Count,
            record.Rejected.Count, record.TotalExamples, record.Metrics.TrainLoss, record.Metrics.HeldOutNll, record.DpEpsilon,
            record.GlobalAdapter?.Sha256),
    };

    private async Task<byte[]> ReadBytesAsync(ContentRef content, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        await store.DownloadVerifiedAsync(content, buffer, cancellationToken).ConfigureAwait(false);
        return buffer.ToArray();
    }

    private async Task<LoraAdapter> ReadAdapterAsync(ContentRef content, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream(await ReadBytesAsync(content, cancellationToken).ConfigureAwait(false), writable: false);
        return AdapterWireFormat.Read(buffer, content.Blob.ToString());
    }
}
