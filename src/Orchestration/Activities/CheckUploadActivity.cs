using FedTune.Core.Protocol;
using FedTune.Orchestration.Orchestrators;
using Microsoft.DurableTask;

namespace FedTune.Orchestration.Activities;

/// <summary>
/// The monitor's cheap check: one GET for the manifest (and, when absent, one for a failed-task marker).
/// A manifest that does not parse or does not belong to this task counts as a failed upload with its reason.
/// </summary>
public sealed class CheckUploadActivity(BlobStore store) : TaskActivity<UploadCheckRequest, UploadCheckResult>
{
    public override Task<UploadCheckResult> RunAsync(TaskActivityContext context, UploadCheckRequest input) =>
        ExecuteAsync(input, CancellationToken.None);

    public async Task<UploadCheckResult> ExecuteAsync(UploadCheckRequest request, CancellationToken cancellationToken)
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
            return Failed(FailureReasons.ManifestInvalid, e.Message);
        }
        if (manifest != null)
        {
            var problem = ManifestProblem(manifest, request);
            if (problem != null) return Failed(FailureReasons.ManifestInvalid, $"{manifestRef}: {problem}");
            return new UploadCheckResult
            {
                State = HospitalRoundState.Uploaded,
                ManifestBlob = request.ManifestBlob,
                Adapter = manifest.Adapter,
                ExampleCount = manifest.ExampleCount,
            };
        }

        var markerRef = new BlobRef(request.Container, request.FailedMarkerBlob);
        try
        {
            var marker = await store.TryReadJsonAsync<FailedTaskMarker>(markerRef, cancellationToken).ConfigureAwait(false);
            if (marker != null) return Failed(marker.ReasonCode, marker.Message);
        }
        catch (ProtocolFormatException e)
        {
            return Failed(FailureReasons.TrainingError, "The agent wrote a failed-task marker that does not parse: " + e.Message);
        }
        return new UploadCheckResult { State = HospitalRoundState.Pending };
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

    private static UploadCheckResult Failed(string code, string message) =>
        new() { State = HospitalRoundState.Failed, ReasonCode = code, Message = message };
}
