using FedTune.Cli.Reporting;
using FedTune.Core.Adapters;
using FedTune.Core.Protocol;

namespace FedTune.Cli.Simulation;

/// <summary>Turns the orchestrator's round records (and the agents' manifests) in Blob Storage into report rows.</summary>
public sealed class RoundCollector(BlobStore store, string runId)
{
    /// <summary>The record of <paramref name="round"/>, or null while it is not aggregated yet.</summary>
    public Task<RoundRecord?> TryReadAsync(int round, CancellationToken cancellationToken) =>
        store.TryReadJsonAsync<RoundRecord>(BlobLayout.RoundRecord(runId, round), cancellationToken);

    /// <summary>The round's new global adapter.</summary>
    public async Task<LoraAdapter> ReadGlobalAdapterAsync(RoundRecord record, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        var adapter = record.GlobalAdapter
            ?? throw new InvalidDataException($"Round {record.Round} of run {runId} has no global adapter in its record (no update was accepted).");
        using var buffer = new MemoryStream();
        await store.DownloadVerifiedAsync(adapter, buffer, cancellationToken).ConfigureAwait(false);
        buffer.Position = 0;
        return AdapterWireFormat.Read(buffer, adapter.Blob.ToString());
    }

    /// <summary>
    /// The report row of a round: every selected hospital's outcome, bytes and timings. A hospital's download is the
    /// global adapter its round task names (round 1: the round-0 adapter); <paramref name="previousGlobalBytes"/> when
    /// the task is gone.
    /// </summary>
    public async Task<RoundReport> ToReportAsync(RoundRecord record, long previousGlobalBytes, EvalMetrics? globalEval, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        var rows = new List<HospitalRoundReport>();
        // Every task of a round attempt names the same global adapter: one task read per round, not one per hospital.
        long? downloaded = null;
        async Task<long> DownloadedAsync(string hospitalId) => downloaded ??=
            (await store.TryReadJsonAsync<RoundTask>(BlobLayout.RoundTask(runId, record.Round, hospitalId, record.Attempt), cancellationToken).ConfigureAwait(false))
            ?.GlobalAdapter.Bytes ?? previousGlobalBytes;
        foreach (var p in record.Participants)
        {
            var manifest = await store.TryReadJsonAsync<UpdateManifest>(BlobLayout.UpdateManifest(runId, record.Round, p.HospitalId, record.Attempt), cancellationToken)
                .ConfigureAwait(false);
            rows.Add(new HospitalRoundReport
            {
                HospitalId = p.HospitalId,
                State = HospitalRoundState.Uploaded,
                TrainLoss = p.Metrics.TrainLoss,
                EvalNll = p.Metrics.HeldOutNll,
                EvalPerplexity = p.Metrics.HeldOutNll is { } nll ? Math.Exp(nll) : null,
                TrainExamples = p.ExampleCount,
                EvalExamples = p.Metrics.HeldOutExamples,
                BytesUp = p.AdapterBytes,
                BytesDown = await DownloadedAsync(p.HospitalId).ConfigureAwait(false),
                TrainSeconds = manifest?.Timings.TrainSeconds ?? 0,
                BusySeconds = manifest?.Timings.BusySeconds ?? 0,
                ModelLoadSeconds = manifest?.Timings.ModelLoadSeconds ?? 0,
                Ran = manifest?.Ran,
            });
        }
        foreach (var r in record.Rejected) rows.Add(Excluded(r, HospitalRoundState.Rejected, await DownloadedAsync(r.HospitalId).ConfigureAwait(false)));
        foreach (var r in record.Failed) rows.Add(Excluded(r, HospitalRoundState.Rejected, await DownloadedAsync(r.HospitalId).ConfigureAwait(false)));
        foreach (var id in record.Stragglers)
        {
            rows.Add(new HospitalRoundReport { HospitalId = id, State = HospitalRoundState.Straggler, BytesDown = await DownloadedAsync(id).ConfigureAwait(false), RejectionReason = "no upload before the round deadline" });
        }
        return new RoundReport
        {
            Round = record.Round,
            DurationSeconds = (record.AggregatedUtc - record.RoundStartedUtc).TotalSeconds,
            GlobalEval = globalEval,
            DpEpsilon = record.DpEpsilon,
            RecordEpsilon = record.RecordEpsilon,
            LoraProductError = record.LoraProductError,
            GlobalDeltaNorm = record.GlobalDeltaNorm,
            Weighting = record.Weighting,
            Sampling = record.Sampling,
            SecureAggregation = record.SecureAggregation,
            Hospitals = rows.OrderBy(h => h.HospitalId, StringComparer.Ordinal).ToList(),
        };
    }

    private static HospitalRoundReport Excluded(RoundExclusion e, HospitalRoundState state, long down) => new()
    {
        HospitalId = e.HospitalId,
        State = state,
        BytesDown = down,
        RejectionReason = $"{e.ReasonCode}: {e.Message}",
    };
}
