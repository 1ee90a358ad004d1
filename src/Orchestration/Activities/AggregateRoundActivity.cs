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
            var global = await store.ReadVerifiedAdapterAsync(request.GlobalAdapter, cancellationToken).ConfigureAwait(false);
            long bytesRead = request.GlobalAdapter.Bytes;

            // Downloads run in parallel (storage latency dominates with many hospitals); results are put back in hospital order.
            var uploaded = request.Outcomes.Where(o => o.State == HospitalRoundState.Uploaded).OrderBy(o => o.HospitalId, StringComparer.Ordinal).ToArray();
            var fetched = new (UpdateManifest? Manifest, string? Path, RoundExclusion? Exclusion)[uploaded.Length];
            await Parallel.ForEachAsync(Enumerable.Range(0, uploaded.Length),
                new ParallelOptions { MaxDegreeOfParallelism = MaxParallelDownloads, CancellationToken = cancellationToken },
                async (i, token) => fetched[i] = await DownloadUpdateAsync(uploaded[i], request, folder.FullName, token).ConfigureAwait(false)).ConfigureAwait(false);
            var rejected = new List<RoundExclusion>();
            var downloaded = new List<(UpdateManifest Manifest, string Path)>();
            // Two hospitals cannot have trained bit-identical adapters: one copied the other, and the server cannot tell which
            // (copying needs read access to another hospital's container, which the deployment's roles do not grant).
            var holders = fetched.Where(f => f.Exclusion == null).GroupBy(f => f.Manifest!.Adapter.Sha256, StringComparer.OrdinalIgnoreCase)
                .ToDictionary(g => g.Key, g => g.Select(f => f.Manifest!.HospitalId).Order(StringComparer.Ordinal).ToArray(), StringComparer.OrdinalIgnoreCase);
            foreach (var (manifest, path, exclusion) in fetched)
            {
                if (exclusion != null)
                {
                    rejected.Add(exclusion);
                    continue;
                }
                bytesRead += manifest!.Adapter.Bytes;
                if (holders[manifest.Adapter.Sha256] is { Length: > 1 } same)
                {
                    rejected.Add(new RoundExclusion(manifest.HospitalId, FailureReasons.UpdateInvalid,
                        $"{manifest.Adapter.Blob}: its bytes are identical to the upload of {ExclusionSummary.Names(same.Where(h => h != manifest.HospitalId).ToArray())} (SHA-256 {manifest.Adapter.Sha256}); identical uploads from different hospitals are all left out."));
                    continue;
                }
                downloaded.Add((manifest, path!));
            }

            // Every round, the first included, validates against the recipe and the global adapter it started from.
            var settings = request.Aggregation;
            var byHospital = downloaded.ToDictionary(d => BlobLayout.NormalizeHospitalId(d.Manifest.HospitalId), StringComparer.Ordinal);
            ContentRef? newGlobal = null;
            ContentRef? serverState = request.ServerState;
            string? ledger = request.PrivacyLedger;
            var participants = new List<RoundParticipant>();
            var aggregator = CoreAggregation.Create(request);
            var state = request.ServerState == null
                ? null
                : ServerOptimizerState.FromBytes(await store.ReadVerifiedBytesAsync(request.ServerState, cancellationToken).ConfigureAwait(false));
            var updates = byHospital.Select(p => CoreAggregation.DownloadedUpdate(p.Key, p.Value.Manifest.ExampleCount,
                p.Value.Path, p.Value.Manifest.Adapter.Sha256)).ToList();
            var result = aggregator.Aggregate(global, updates,
                new RoundContext(request.Round, request.Selected.Count, request.TotalHospitals, request.MinFitClients) { PoissonRate = request.PoissonRate },
                state, CoreAggregation.Ledger(request.PrivacyLedger));
            foreach (var validation in result.Validations)
            {
                var manifest = byHospital[validation.ClientId].Manifest;
                if (validation.Accepted)
                {
                    participants.Add(new RoundParticipant(validation.ClientId, manifest.ExampleCount, result.Shares.GetValueOrDefault(validation.ClientId),
                        manifest.Metrics, manifest.Adapter.Bytes, manifest.Adapter.Sha256) { DeltaNorm = validation.DeltaNorm });
                }
                else
                {
                    rejected.Add(new RoundExclusion(validation.ClientId, ReasonCode(validation.Verdict),
                        $"{manifest.Adapter.Blob}: {validation.Reason}"));
                }
            }
            double? globalDeltaNorm = null;
            if (result.QuorumMet && participants.Count >= request.MinFitClients)
            {
                var globalBytes = Core.Compression.CompressedAdapterWire.ToBytes(result.Global, request.WirePrecision,
                    Core.Randomness.SplitMix64.DeriveSeed(request.Seed, request.Round, "global-wire"));
                newGlobal = await store.UploadContentAddressedAsync(globalBytes,
                    sha => BlobLayout.GlobalAdapter(request.RunId, request.Round, sha), cancellationToken).ConfigureAwait(false);
                if (result.State.M != null || result.State.V != null)
                {
                    serverState = await store.UploadContentAddressedAsync(result.State.ToBytes(),
                        sha => BlobLayout.ServerState(request.RunId, request.Round, sha), cancellationToken).ConfigureAwait(false);
                }
                ledger = result.Accountant?.ToJson() ?? ledger;
                globalDeltaNorm = Distance(global, result.Global);
            }

            long totalExamples = participants.Sum(p => p.ExampleCount);
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
                RecordEpsilon = RoundMetricsCalculator.MaxRecordEpsilon(participants.Select(p => byHospital[p.HospitalId].Manifest).ToList()),
                GlobalAdapter = newGlobal,
                ServerState = newGlobal == null ? null : serverState,
                BytesRead = bytesRead,
                BytesWritten = newGlobal?.Bytes ?? 0,
                RoundStartedUtc = request.RoundStartedUtc,
                AggregatedUtc = DateTimeOffset.UtcNow,
                AggregationSeconds = clock.Elapsed.TotalSeconds,
                DpEpsilon = newGlobal == null ? null : result.Privacy?.Epsilon,
                DpDelta = newGlobal == null ? null : result.Privacy?.Delta,
                GlobalDeltaNorm = globalDeltaNorm,
                Weighting = settings.DifferentialPrivacy != null
                    ? "uniform: DP-FedAvg sums clipped deltas unweighted"
                    : aggregator.Weighting.Describe(),
                Sampling = request.PoissonRate is { } q
                    ? $"Poisson, each of {request.TotalHospitals} hospitals with probability {q:G4} (as the DP accountant assumes)"
                    : $"fixed-size sample of {request.Selected.Count} of {request.TotalHospitals} hospitals",
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
                          (rejected.Count > 0 ? " (rejected: " + ExclusionSummary.Describe(rejected) + ")" : "") + ".",
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

    private static double Distance(LoraAdapter from, LoraAdapter to)
    {
        double sum = 0;
        foreach (var tensor in from.Tensors)
        {
            var other = to[tensor.Name].Data;
            for (int i = 0; i < tensor.Data.Length; i++)
            {
                double d = other[i] - (double)tensor.Data[i];
                sum += d * d;
            }
        }
        return Math.Sqrt(sum);
    }

    private async Task<(UpdateManifest? Manifest, string? Path, RoundExclusion? Exclusion)> DownloadUpdateAsync(
        HospitalRoundOutcome outcome, AggregateRequest request, string folder, CancellationToken cancellationToken)
    {
        var check = CheckUploadsActivity.RequestFor(request.RunId, request.Round, request.Attempt, outcome.HospitalId);
        var manifestRef = new BlobRef(check.Container, check.ManifestBlob);
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
            return (null, null, new RoundExclusion(outcome.HospitalId, FailureReasons.ManifestInvalid, $"{manifestRef} disappeared after its upload was seen."));
        }
        // Judged here as the upload check judges it (a hospital owns its container and could rewrite its manifest after a
        // check, and a manifest an upload notice saw is not checked at all), then against the round's global adapter.
        if ((CheckUploadsActivity.ManifestProblem(manifest, check) ?? StaleBaseProblem(manifest, request)) is { } problem)
        {
            return (null, null, new RoundExclusion(outcome.HospitalId, FailureReasons.ManifestInvalid, $"{manifestRef}: {problem}"));
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

    /// <summary>The manifest must have been trained from the global adapter this round started from (a replayed or stale update names another).</summary>
    private static string? StaleBaseProblem(UpdateManifest manifest, AggregateRequest request) =>
        string.Equals(manifest.BaseGlobalSha256, request.GlobalAdapter.Sha256, StringComparison.OrdinalIgnoreCase)
            ? null
            : $"it was trained from global adapter {manifest.BaseGlobalSha256 ?? "(none)"}, not this round's {request.GlobalAdapter.Sha256} (a replayed or stale update).";

    internal static AggregateResult ResultFrom(RoundRecord record, BlobRef recordRef, AggregateRequest request, string? ledger) => new()
    {
        Produced = record.GlobalAdapter != null,
        GlobalAdapter = record.GlobalAdapter,
        ServerState = record.GlobalAdapter == null ? request.ServerState : record.ServerState,
        RoundRecord = recordRef,
        PrivacyLedger = ledger,
        Summary = new RoundSummary(record.Round, record.Attempt, record.Participants.Count, record.Stragglers.Count, record.Failed.Count,
            record.Rejected.Count, record.TotalExamples, record.Metrics.TrainLoss, record.Metrics.HeldOutNll, record.DpEpsilon,
            record.GlobalAdapter?.Sha256)
        {
            RejectedHospitals = record.Rejected.Select(r => $"{r.HospitalId} ({r.ReasonCode})").ToArray(),
        },
    };
}
