using System.Diagnostics;
using FedTune.Core.Adapters;
using FedTune.Core.Aggregation;
using FedTune.Core.Compression;
using FedTune.Core.Protocol;
using FedTune.Core.SecureAggregation;
using FedTune.Orchestration.Aggregation;
using FedTune.Orchestration.Orchestrators;
using FedTune.Orchestration.Sampling;
using Microsoft.DurableTask;

namespace FedTune.Orchestration.Activities;

/// <summary>
/// Aggregates a securely aggregated round: downloads the survivors' masked uploads (SHA-256 checked against their
/// manifests), adds them, removes the masks with the survivors' revealed shares (<see cref="SecAggServer"/>) and decodes
/// the FedAvg mean Σ w·x / Σ w. Only that mean is ever in clear here. With DP the hospitals clipped their deltas and
/// encoded weight 1, and this activity adds N(0, (z·C)²) to the unmasked sum of deltas before dividing by the round's
/// sampled hospitals (central DP on the sum: the hospitals trust the orchestrator to add the noise, but no longer with
/// their single updates). The mean then goes through the strategy's server step as the round's one update, which is
/// also the server's check of the sum (finite, shapes). Create-once round record as in <see cref="AggregateRoundActivity"/>.
/// </summary>
public sealed class AggregateSecureRoundActivity(BlobStore store) : TaskActivity<AggregateRequest, AggregateResult>
{
    /// <summary>The client id the unmasked mean goes through the aggregator under.</summary>
    public const string SumClientId = "secure-aggregate";

    public override Task<AggregateResult> RunAsync(TaskActivityContext context, AggregateRequest input) => ExecuteAsync(input, CancellationToken.None);

    public async Task<AggregateResult> ExecuteAsync(AggregateRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var secure = request.SecureAggregation ?? throw new ArgumentException("The round is not securely aggregated.", nameof(request));
        var recordRef = BlobLayout.RoundRecord(request.RunId, request.Round);
        var existing = await store.TryReadJsonAsync<RoundRecord>(recordRef, cancellationToken).ConfigureAwait(false);
        if (existing != null) return AggregateRoundActivity.ResultFrom(existing, recordRef, request, request.PrivacyLedger);

        var clock = Stopwatch.StartNew();
        var roster = await store.TryReadJsonAsync<SecAggRoster>(BlobLayout.SecAggRosterRecord(request.RunId, request.Round, request.Attempt), cancellationToken)
            .ConfigureAwait(false) ?? new SecAggRoster([]);
        var sharers = request.SecAggSharers ?? [];
        var rejected = new List<RoundExclusion>();
        var masked = new List<SecAggMaskedInput>();
        var manifests = new Dictionary<string, UpdateManifest>(StringComparer.Ordinal);
        LoraAdapter? shape = null;
        long bytesRead = 0;
        foreach (var outcome in request.Outcomes.Where(o => o.State == HospitalRoundState.Uploaded).OrderBy(o => o.HospitalId, StringComparer.Ordinal))
        {
            var hospital = BlobLayout.NormalizeHospitalId(outcome.HospitalId);
            if (!sharers.Contains(hospital, StringComparer.Ordinal))
            {
                rejected.Add(new RoundExclusion(hospital, FailureReasons.UpdateInvalid, "uploaded without taking part in the key exchange; its masks cannot be removed."));
                continue;
            }

            try
            {
                var check = CheckUploadsActivity.RequestFor(request.RunId, request.Round, request.Attempt, hospital);
                var manifest = await store.TryReadJsonAsync<UpdateManifest>(new BlobRef(check.Container, check.ManifestBlob), cancellationToken)
                    .ConfigureAwait(false) ?? throw new ProtocolFormatException("the manifest disappeared after the check");
                // Re-judged here: a hospital owns its container and could rewrite its manifest after the check.
                if (CheckUploadsActivity.ManifestProblem(manifest, check) is { } wrong) throw new ProtocolFormatException(wrong);
                using var buffer = new MemoryStream();
                await store.DownloadVerifiedAsync(manifest.Adapter, buffer, cancellationToken).ConfigureAwait(false);
                buffer.Position = 0;
                var (values, layout) = MaskedUpdateWire.Read(buffer, manifest.Adapter.Blob.ToString());
                shape ??= layout;
                masked.Add(new SecAggMaskedInput(hospital, values));
                manifests[hospital] = manifest;
                bytesRead += manifest.Adapter.Bytes;
            }
            catch (Exception e) when (e is ProtocolFormatException or ContentHashMismatchException or AdapterFormatException or Core.Formats.SafetensorsFormatException
                                          or Azure.RequestFailedException)
            {
                rejected.Add(new RoundExclusion(hospital, FailureReasons.UpdateUnreadable, e.Message));
            }
        }

        var reveals = new List<SecAggReveal>();
        foreach (var hospital in masked.Select(m => m.Party))
        {
            var reveal = await SecAggBlobs.TryReadAsync<SecAggReveal>(store,
                BlobLayout.SecAggMessage(request.RunId, request.Round, hospital, request.Attempt, SecAggFiles.Reveal), cancellationToken).ConfigureAwait(false);
            if (reveal is not null && reveal.From == hospital) reveals.Add(reveal);
        }

        SecAggSum? sum = null;
        string? problem = null;
        try
        {
            sum = masked.Count == 0
                ? throw new SecureAggregationException("no masked update arrived.")
                : SecAggServer.Unmask(secure.Setup, roster.Keys, sharers, masked, reveals);
        }
        catch (SecureAggregationException e)
        {
            problem = "secure aggregation could not unmask the sum: " + e.Message;
        }

        var global = request.GlobalAdapter == null ? null : await store.ReadVerifiedAdapterAsync(request.GlobalAdapter, cancellationToken).ConfigureAwait(false);
        bool initialRound = global == null;
        var settings = (initialRound ? request.Aggregation with { Strategy = "fedavg" } : request.Aggregation) with { DifferentialPrivacy = null, MaxNormRatio = null };
        ContentRef? newGlobal = null;
        ContentRef? serverState = request.ServerState;
        string? ledger = request.PrivacyLedger;
        double? epsilon = null;
        var survivors = sum?.Survivors ?? [];
        if (sum != null && shape != null && survivors.Count >= request.MinFitClients)
        {
            global ??= shape;
            var mean = MeanUpdate(request, secure, sum, global, shape);
            var aggregator = CoreAggregation.Create(settings);
            var state = initialRound || request.ServerState == null
                ? null
                : ServerOptimizerState.FromBytes(await store.ReadVerifiedBytesAsync(request.ServerState, cancellationToken).ConfigureAwait(false));
            var result = aggregator.Aggregate(global,
                [ClientUpdate.FromAdapter(SumClientId, FixedPointEncoding.DecodeTotalWeight(sum.Sum), () => mean, AdapterHash.Sha256(mean))],
                new RoundContext(request.Round, request.Selected.Count, request.TotalHospitals, 1), state);
            if (result.QuorumMet)
            {
                var bytes = CompressedAdapterWire.ToBytes(result.Global, request.WirePrecision, Core.Randomness.SplitMix64.DeriveSeed(request.Seed, request.Round, "global-wire"));
                newGlobal = await store.UploadContentAddressedAsync(bytes, sha => BlobLayout.GlobalAdapter(request.RunId, request.Round, sha), cancellationToken).ConfigureAwait(false);
                if (!initialRound && (result.State.M != null || result.State.V != null))
                {
                    serverState = await store.UploadContentAddressedAsync(result.State.ToBytes(),
                        sha => BlobLayout.ServerState(request.RunId, request.Round, sha), cancellationToken).ConfigureAwait(false);
                }

                if (request.Aggregation.DifferentialPrivacy is { } dp)
                {
                    var accountant = CoreAggregation.Ledger(request.PrivacyLedger)?.Clone() ?? new Core.Privacy.RdpAccountant();
                    accountant.AddSteps(Math.Clamp((double)request.Selected.Count / Math.Max(1, request.TotalHospitals), 0, 1), dp.NoiseMultiplier);
                    ledger = accountant.ToJson();
                    epsilon = accountant.GetEpsilon(dp.Delta).Epsilon;
                }
            }
            else
            {
                problem = "the unmasked sum failed the server's check: " + string.Join("; ", result.Validations.Select(v => v.Reason));
            }
        }
        else if (sum != null)
        {
            problem = $"only {survivors.Count} masked update(s) were summed but min_fit_clients is {request.MinFitClients}";
        }

        var participants = survivors.Select(h => new RoundParticipant(h, manifests[h].ExampleCount, 0, manifests[h].Metrics, manifests[h].Adapter.Bytes,
            manifests[h].Adapter.Sha256)).ToList();
        long totalExamples = participants.Sum(p => p.ExampleCount);
        participants = participants.Select(p => p with { Weight = totalExamples == 0 ? 0 : p.ExampleCount / (double)totalExamples }).ToList();
        rejected.Sort((a, b) => string.CompareOrdinal(a.HospitalId, b.HospitalId));
        var record = new RoundRecord
        {
            RunId = request.RunId,
            Round = request.Round,
            Attempt = request.Attempt,
            Strategy = settings.Strategy + (request.Aggregation.DifferentialPrivacy != null ? "+dp" : "") + "+secagg",
            Selected = request.Selected,
            Participants = participants,
            Stragglers = request.Outcomes.Where(o => o.State == HospitalRoundState.Straggler).Select(o => o.HospitalId).Order(StringComparer.Ordinal).ToArray(),
            Failed = request.Outcomes.Where(o => o.State == HospitalRoundState.Failed)
                .Select(o => new RoundExclusion(o.HospitalId, o.ReasonCode ?? FailureReasons.TrainingError, o.Message ?? "")).ToArray(),
            Rejected = rejected,
            TotalExamples = totalExamples,
            Metrics = RoundMetricsCalculator.WeightedAverages(participants.Select(p => manifests[p.HospitalId]).ToList()),
            RecordEpsilon = RoundMetricsCalculator.MaxRecordEpsilon(participants.Select(p => manifests[p.HospitalId]).ToList()),
            GlobalAdapter = newGlobal,
            ServerState = newGlobal == null ? null : serverState,
            BytesRead = bytesRead,
            BytesWritten = newGlobal?.Bytes ?? 0,
            RoundStartedUtc = request.RoundStartedUtc,
            AggregatedUtc = DateTimeOffset.UtcNow,
            AggregationSeconds = clock.Elapsed.TotalSeconds,
            DpEpsilon = newGlobal == null ? null : epsilon,
            DpDelta = newGlobal == null ? null : request.Aggregation.DifferentialPrivacy?.Delta,
            SecureAggregation = new SecureAggregationFacts(secure.Setup.Threshold, secure.Setup.Degree, roster.Keys.Select(k => k.Party).ToArray(), sharers,
                survivors, sum?.Dropped ?? []),
        };
        if (newGlobal != null)
        {
            await store.TryCreateJsonAsync(recordRef, record, cancellationToken).ConfigureAwait(false);
            var kept = await store.TryReadJsonAsync<RoundRecord>(recordRef, cancellationToken).ConfigureAwait(false) ?? record;
            return AggregateRoundActivity.ResultFrom(kept, recordRef, request, kept.AggregatedUtc == record.AggregatedUtc ? ledger : request.PrivacyLedger);
        }

        var failedRef = new BlobRef(BlobLayout.GlobalContainer, recordRef.Name.Replace("record.json", $"failed-attempt-{request.Attempt}.json", StringComparison.Ordinal));
        await store.TryCreateJsonAsync(failedRef, record, cancellationToken).ConfigureAwait(false);
        return AggregateRoundActivity.ResultFrom(record, failedRef, request, request.PrivacyLedger) with
        {
            Produced = false,
            Problem = (problem ?? "no usable masked update") + (rejected.Count > 0 ? " (rejected: " + ExclusionSummary.Describe(rejected) + ")" : "") + ".",
        };
    }

    /// <summary>
    /// The round's one update: the FedAvg mean Σ w·x / Σ w, or with DP the global plus (Σ clipped Δ + N(0, (z·C)²)) / sampled.
    /// </summary>
    internal static LoraAdapter MeanUpdate(AggregateRequest request, SecureAggregationTask secure, SecAggSum sum, LoraAdapter global, LoraAdapter shape)
    {
        if (request.Aggregation.DifferentialPrivacy is not { } dp || !secure.UniformWeights)
        {
            return MaskedUpdateWire.Unflatten(shape, FixedPointEncoding.DecodeWeightedMean(sum.Sum));
        }

        var summed = new float[sum.Sum.Length - 1];
        var count = FixedPointEncoding.DecodeTotalWeight(sum.Sum);
        var globalFlat = MaskedUpdateWire.Flatten(global);
        for (var i = 0; i < summed.Length; i++)
        {
            summed[i] = (float)(FixedPointEncoding.Decode(sum.Sum[i]) - count * globalFlat[i]);
        }

        GaussianNoise.Secure().AddTo(summed, dp.NoiseMultiplier * dp.ClippingNorm);
        var divisor = Math.Max(request.Selected.Count, 1);
        for (var i = 0; i < summed.Length; i++)
        {
            summed[i] = globalFlat[i] + summed[i] / divisor;
        }

        return MaskedUpdateWire.Unflatten(shape, summed);
    }
}
