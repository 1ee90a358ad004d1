using System.Collections.Concurrent;
using FedTune.Core.Protocol;
using FedTune.Orchestration.Orchestrators;
using Microsoft.DurableTask;

namespace FedTune.Orchestration.Activities;

/// <summary>
/// Looks at one chunk of a round's upload locations, several at a time: per hospital one GET for the manifest (and,
/// when absent, one for a failed-task marker). Returns only the hospitals that finished (uploaded or failed), sorted,
/// so the history stays small while most are still training. A manifest that does not parse or does not belong to
/// the task counts as a failed upload with its reason.
/// </summary>
public sealed class CheckUploadsActivity(BlobStore store) : TaskActivity<UploadCheckBatch, IReadOnlyList<HospitalRoundOutcome>>
{
    /// <summary>Concurrent hospitals checked per chunk.</summary>
    public const int Parallelism = 16;

    public override Task<IReadOnlyList<HospitalRoundOutcome>> RunAsync(TaskActivityContext context, UploadCheckBatch input) =>
        ExecuteAsync(input, CancellationToken.None);

    public async Task<IReadOnlyList<HospitalRoundOutcome>> ExecuteAsync(UploadCheckBatch batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var finished = new ConcurrentBag<HospitalRoundOutcome>();
        await Parallel.ForEachAsync(batch.Hospitals, new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = cancellationToken },
            async (hospital, token) =>
            {
                var result = await CheckAsync(RequestFor(batch, hospital), token).ConfigureAwait(false);
                if (result.State != HospitalRoundState.Pending) finished.Add(result);
            }).ConfigureAwait(false);
        return finished.OrderBy(r => r.HospitalId, StringComparer.Ordinal).ToArray();
    }

    /// <summary>Where one hospital's manifest and failed-task marker of the round are.</summary>
    public static UploadCheckRequest RequestFor(UploadCheckBatch batch, string hospitalId)
    {
        ArgumentNullException.ThrowIfNull(batch);
        return RequestFor(batch.RunId, batch.Round, batch.Attempt, hospitalId);
    }

    /// <summary>Where one hospital's manifest and failed-task marker of a round attempt are.</summary>
    public static UploadCheckRequest RequestFor(string runId, int round, int attempt, string hospitalId) =>
        new(runId, round, attempt, hospitalId, BlobLayout.HospitalContainer(hospitalId),
            BlobLayout.UpdateManifest(runId, round, hospitalId, attempt).Name,
            BlobLayout.FailedTaskMarker(runId, round, hospitalId, attempt).Name);

    /// <summary>One hospital's upload location: uploaded, failed (with the reason) or still pending.</summary>
    public async Task<HospitalRoundOutcome> CheckAsync(UploadCheckRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var manifestRef = new BlobRef(request.Container, request.ManifestBlob);
        UpdateManifest? manifest;
        try
        {
            manifest = await store.TryReadJsonAsync<UpdateManifest>(manifestRef, cancellationToken).ConfigureAwait(false);
        }
        catch (ProtocolFormatException e)
        {
            return Failed(request, FailureReasons.ManifestInvalid, e.Message);
        }
        if (manifest != null)
        {
            var problem = ManifestProblem(manifest, request);
            if (problem != null) return Failed(request, FailureReasons.ManifestInvalid, $"{manifestRef}: {problem}");
            return new HospitalRoundOutcome { HospitalId = request.HospitalId, State = HospitalRoundState.Uploaded };
        }

        var markerRef = new BlobRef(request.Container, request.FailedMarkerBlob);
        try
        {
            var marker = await store.TryReadJsonAsync<FailedTaskMarker>(markerRef, cancellationToken).ConfigureAwait(false);
            if (marker != null) return Failed(request, marker.ReasonCode, marker.Message);
        }
        catch (ProtocolFormatException e)
        {
            return Failed(request, FailureReasons.TrainingError, "The agent wrote a failed-task marker that does not parse: " + e.Message);
        }
        return new HospitalRoundOutcome { HospitalId = request.HospitalId, State = HospitalRoundState.Pending };
    }

    /// <summary>Why a manifest cannot be this task's upload, or null when it can.</summary>
    public static string? ManifestProblem(UpdateManifest manifest, UploadCheckRequest request)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentNullException.ThrowIfNull(request);
        if (manifest.RunId != request.RunId || manifest.Round != request.Round || manifest.Attempt != request.Attempt ||
            !string.Equals(manifest.HospitalId, request.HospitalId, StringComparison.OrdinalIgnoreCase))
        {
            return $"it is for run {manifest.RunId} round {manifest.Round} attempt {manifest.Attempt} hospital {manifest.HospitalId}, " +
                   $"not run {request.RunId} round {request.Round} attempt {request.Attempt} hospital {request.HospitalId}.";
        }
        if (manifest.Adapter.Blob.Container != request.Container ||
            !manifest.Adapter.Blob.Name.StartsWith(request.ManifestBlob[..^BlobLayout.ManifestFileName.Length], StringComparison.Ordinal))
        {
            return $"its adapter {manifest.Adapter.Blob} is outside the task's update folder.";
        }
        if (!BlobLayout.IsSha256(manifest.Adapter.Sha256)) return $"adapter sha256 '{manifest.Adapter.Sha256}' is not a lowercase hex SHA-256.";
        if (manifest.ExampleCount <= 0) return $"example_count is {manifest.ExampleCount}; it must be positive.";
        if (manifest.Adapter.Bytes <= 0) return $"adapter size is {manifest.Adapter.Bytes} bytes.";
        return null;
    }

    private static HospitalRoundOutcome Failed(UploadCheckRequest request, string code, string message) =>
        new() { HospitalId = request.HospitalId, State = HospitalRoundState.Failed, ReasonCode = code, Message = message };
}
