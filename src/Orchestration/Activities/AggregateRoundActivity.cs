using System.Diagnostics;
using System.Globalization;
using FedTune.Core.Adapters;
using FedTune.Core.Protocol;
using FedTune.Orchestration.Aggregation;
using FedTune.Orchestration.Orchestrators;
using Microsoft.DurableTask;

namespace FedTune.Orchestration.Activities;

/// <summary>
/// Aggregates one round: streams each uploaded adapter from its hospital's container (hash-checked), validates it,
/// folds it into the configured strategy, writes the new global adapter (content-addressed) and the round record
/// (create-once). A repeated delivery computes the same bytes and finds the record already written, so it changes
/// nothing. Short by design: one update in memory at a time, no training.
/// </summary>
public sealed class AggregateRoundActivity(BlobStore store) : TaskActivity<AggregateRequest, AggregateResult>
{
    /// <summary>The LoRA product error is computed only when all B·A products together stay under this many elements.</summary>
    public const long MaxProductElements = 8_000_000;

    public override Task<AggregateResult> RunAsync(TaskActivityContext context, AggregateRequest input) =>
        ExecuteAsync(input, CancellationToken.None);

    public async Task<AggregateResult> ExecuteAsync(AggregateRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var recordRef = BlobLayout.RoundRecord(request.RunId, request.Round);
        var existing = await store.TryReadJsonAsync<RoundRecord>(recordRef, cancellationToken).ConfigureAwait(false);
        if (existing != null) return ResultFrom(existing, recordRef, request);

        var clock = Stopwatch.StartNew();
        long bytesRead = 0;
        LoraAdapter? global = null;
        if (request.GlobalAdapter != null)
        {
            global = await ReadAdapterAsync(request.GlobalAdapter, cancellationToken).ConfigureAwait(false);
            bytesRead += request.GlobalAdapter.Bytes;
        }

        var strategy = ServerStrategies.Create(request, global);
        var rejected = new List<RoundExclusion>();
        var candidates = new List<(UpdateManifest Manifest, double Norm)>();
        bool normCheck = request.Aggregation.MaxNormRatio is > 0 &&
                         request.Outcomes.Count(o => o.State == HospitalRoundState.Uploaded) >= 3;
        LoraAdapter? reference = global;
        foreach (var outcome in request.Outcomes.Where(o => o.State == HospitalRoundState.Uploaded).OrderBy(o => o.HospitalId, StringComparer.Ordinal))
        {
            var (manifest, update, exclusion) = await ReadUpdateAsync(outcome, cancellationToken).ConfigureAwait(false);
            if (exclusion != null)
            {
                rejected.Add(exclusion);
                continue;
            }
            bytesRead += manifest!.Adapter.Bytes;
            var problem = UpdateChecks.Problem(update!, reference);
            if (problem != null)
            {
                rejected.Add(new RoundExclusion(outcome.HospitalId, FailureReasons.UpdateInvalid, $"{manifest.Adapter.Blob}: {problem}."));
                continue;
            }
            reference ??= update;
            candidates.Add((manifest, normCheck ? UpdateChecks.DeltaNorm(update!, global) : 0));
            if (!normCheck) strategy.Add(update!, manifest.ExampleCount);
        }

        if (normCheck && candidates.Count > 0)
        {
            double limit = request.Aggregation.MaxNormRatio!.Value * Median(candidates.Select(c => c.Norm));
            var kept = new List<(UpdateManifest Manifest, double Norm)>();
            foreach (var candidate in candidates)
            {
                if (candidate.Norm > limit)
                {
                    rejected.Add(new RoundExclusion(candidate.Manifest.HospitalId, FailureReasons.UpdateInvalid, string.Create(CultureInfo.InvariantCulture,
                        $"{candidate.Manifest.Adapter.Blob}: its distance from the global adapter is {candidate.Norm:G4}, more than max_norm_ratio {request.Aggregation.MaxNormRatio:G4} x the round's median {limit / request.Aggregation.MaxNormRatio:G4}.")));
                    continue;
                }
                // Second pass: stream the accepted update again (one in memory at a time).
                var update = await ReadAdapterAsync(candidate.Manifest.Adapter, cancellationToken).ConfigureAwait(false);
                bytesRead += candidate.Manifest.Adapter.Bytes;
                strategy.Add(update, candidate.Manifest.ExampleCount);
                kept.Add(candidate);
            }
            candidates = kept;
        }
        var manifests = candidates.Select(c => c.Manifest).ToList();
        var participants = manifests.Select(m => new RoundParticipant(BlobLayout.NormalizeHospitalId(m.HospitalId), m.ExampleCount, 0, m.Metrics,
            m.Adapter.Bytes, m.Adapter.Sha256)).ToList();
        rejected.Sort((a, b) => string.CompareOrdinal(a.HospitalId, b.HospitalId));

        long totalExamples = participants.Sum(p => p.ExampleCount);
        participants = participants.Select(p => p with { Weight = totalExamples == 0 ? 0 : p.ExampleCount / (double)totalExamples }).ToList();
        var stragglers = request.Outcomes.Where(o => o.State == HospitalRoundState.Straggler).Select(o => o.HospitalId).Order(StringComparer.Ordinal).ToArray();
        var failed = request.Outcomes.Where(o => o.State == HospitalRoundState.Failed)
            .Select(o => new RoundExclusion(o.HospitalId, o.ReasonCode ?? FailureReasons.TrainingError, o.Message ?? "")).ToArray();

        ContentRef? newGlobal = null;
        ContentRef? serverState = request.ServerState;
        double? productError = null;
        ServerStepResult? step = null;
        string? problemText = null;
        if (participants.Count >= request.MinFitClients && participants.Count > 0)
        {
            step = strategy.Finish();
            productError = step.ProductError;
            newGlobal = await store.UploadContentAddressedAsync(AdapterWireFormat.ToBytes(step.Global),
                sha => BlobLayout.GlobalAdapter(request.RunId, request.Round, sha), cancellationToken).ConfigureAwait(false);
            if (step.ServerState is { } stateBytes)
            {
                serverState = await store.UploadContentAddressedAsync(stateBytes,
                    sha => BlobLayout.ServerState(request.RunId, request.Round, sha), cancellationToken).ConfigureAwait(false);
            }
        }
        else
        {
            problemText = $"only {participants.Count} usable update(s) after validation but min_fit_clients is {request.MinFitClients}" +
                          (rejected.Count > 0 ? " (rejected: " + string.Join("; ", rejected.Select(r => $"{r.HospitalId}: {r.Message}")) + ")" : "") + ".";
        }

        var record = new RoundRecord
        {
            RunId = request.RunId,
            Round = request.Round,
            Attempt = request.Attempt,
            Strategy = request.Aggregation.Strategy,
            Selected = request.Selected,
            Participants = participants,
            Stragglers = stragglers,
            Failed = failed,
            Rejected = rejected,
            TotalExamples = totalExamples,
            Metrics = RoundMetricsCalculator.WeightedAverages(manifests),
            GlobalAdapter = newGlobal,
            BytesRead = bytesRead,
            BytesWritten = newGlobal?.Bytes ?? 0,
            RoundStartedUtc = request.RoundStartedUtc,
            AggregatedUtc = DateTimeOffset.UtcNow,
            AggregationSeconds = clock.Elapsed.TotalSeconds,
            DpEpsilon = step?.Epsilon,
            DpDelta = step?.Epsilon == null ? null : request.Aggregation.DifferentialPrivacy?.Delta,
            LoraProductError = productError,
            ServerState = newGlobal == null ? null : serverState,
        };
        if (newGlobal != null)
        {
            // First writer wins: a second delivery of this activity keeps the record (and adapter) the first one wrote.
            await store.TryCreateJsonAsync(recordRef, record, cancellationToken).ConfigureAwait(false);
            record = await store.TryReadJsonAsync<RoundRecord>(recordRef, cancellationToken).ConfigureAwait(false) ?? record;
        }
        else
        {
            // A failed attempt is recorded beside the round's record so a retried attempt can still write the real one.
            await store.TryCreateJsonAsync(FailedAttemptRecord(request), record, cancellationToken).ConfigureAwait(false);
            recordRef = FailedAttemptRecord(request);
        }
        var result = ResultFrom(record, recordRef, request);
        return newGlobal == null ? result with { Produced = false, Problem = problemText, ServerState = request.ServerState } : result;
    }

    private async Task<(UpdateManifest? Manifest, LoraAdapter? Update, RoundExclusion? Exclusion)> ReadUpdateAsync(
        HospitalRoundOutcome outcome, CancellationToken cancellationToken)
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
        try
        {
            return (manifest, await ReadAdapterAsync(manifest.Adapter, cancellationToken).ConfigureAwait(false), null);
        }
        catch (ContentHashMismatchException e)
        {
            return (manifest, null, new RoundExclusion(outcome.HospitalId, FailureReasons.UpdateHashMismatch, e.Message));
        }
        catch (Azure.RequestFailedException e) when (e.Status == 404)
        {
            return (manifest, null, new RoundExclusion(outcome.HospitalId, FailureReasons.UpdateUnreadable, $"{manifest.Adapter.Blob} does not exist ({e.ErrorCode})."));
        }
        catch (Exception e) when (e is AdapterFormatException or Core.Formats.SafetensorsFormatException or InvalidDataException
                                      or EndOfStreamException or ArgumentException or OverflowException)
        {
            return (manifest, null, new RoundExclusion(outcome.HospitalId, FailureReasons.UpdateUnreadable, $"{manifest.Adapter.Blob}: {e.Message}"));
        }
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        int mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    private static BlobRef FailedAttemptRecord(AggregateRequest request) =>
        new(BlobLayout.GlobalContainer, BlobLayout.RoundRecord(request.RunId, request.Round).Name.Replace(
            "record.json", $"failed-attempt-{request.Attempt}.json", StringComparison.Ordinal));

    private static AggregateResult ResultFrom(RoundRecord record, BlobRef recordRef, AggregateRequest request) => new()
    {
        Produced = record.GlobalAdapter != null,
        GlobalAdapter = record.GlobalAdapter,
        ServerState = record.GlobalAdapter == null ? request.ServerState : record.ServerState,
        RoundRecord = recordRef,
        Summary = new RoundSummary(record.Round, record.Attempt, record.Participants.Count, record.Stragglers.Count, record.Failed.Count,
            record.Rejected.Count, record.TotalExamples, record.Metrics.TrainLoss, record.Metrics.HeldOutNll, record.DpEpsilon,
            record.GlobalAdapter?.Sha256),
    };

    private async Task<LoraAdapter> ReadAdapterAsync(ContentRef content, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream(checked((int)Math.Max(0, content.Bytes)));
        await store.DownloadVerifiedAsync(content, buffer, cancellationToken).ConfigureAwait(false);
        buffer.Position = 0;
        return AdapterWireFormat.Read(buffer, content.Blob.ToString());
    }
}
