using System.Globalization;
using FedTune.Core.Protocol;

namespace FedTune.Orchestration.Events;

/// <summary>
/// The round a finished upload belongs to, read from the path of the blob that finishes it: a manifest
/// (<c>hospital-{id}/runs/{run}/round-NNNN[-retry-k]/update/manifest.json</c>) or a failed-task marker
/// (<c>.../round-NNNN[-retry-k]/failed.json</c>), the two paths the Event Grid subscription and the local upload
/// watcher look at.
/// </summary>
public sealed record UploadLocation(string RunId, int Round, int Attempt, string HospitalId)
{
    /// <summary>The blob that finished the upload is the hospital's manifest (false: a failed-task marker, or not known).</summary>
    public bool IsManifest { get; init; }

    private const string FailedMarkerFileName = "failed.json";
    private const string UpdateFolderName = "update";

    /// <summary>The location of a manifest or failed-task marker; null for any other blob (tasks, adapters, global).</summary>
    public static UploadLocation? FromBlob(string container, string blobName)
    {
        ArgumentNullException.ThrowIfNull(container);
        ArgumentNullException.ThrowIfNull(blobName);
        if (!container.StartsWith(BlobLayout.HospitalContainerPrefix, StringComparison.Ordinal)) return null;
        var hospital = container[BlobLayout.HospitalContainerPrefix.Length..];
        if (!BlobLayout.IsValidHospitalId(hospital)) return null;
        var parts = blobName.Split('/');
        // runs/{run}/{round-folder}/update/manifest.json or runs/{run}/{round-folder}/failed.json
        bool manifest = parts.Length == 5 && parts[3] == UpdateFolderName && parts[4] == BlobLayout.ManifestFileName;
        bool failed = parts.Length == 4 && parts[3] == FailedMarkerFileName;
        if ((!manifest && !failed) || parts[0] != "runs") return null;
        var (round, attempt) = ParseRoundFolder(parts[2]);
        if (round == null) return null;
        try
        {
            return new UploadLocation(BlobLayout.ValidateRunId(parts[1]), round.Value, attempt, hospital) { IsManifest = manifest };
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    /// <summary>
    /// The location named by an Event Grid BlobCreated subject (<c>/blobServices/default/containers/{container}/blobs/{blob}</c>);
    /// null for any other subject.
    /// </summary>
    public static UploadLocation? FromEventGridSubject(string subject)
    {
        ArgumentNullException.ThrowIfNull(subject);
        const string containers = "/blobServices/default/containers/";
        const string blobs = "/blobs/";
        if (!subject.StartsWith(containers, StringComparison.Ordinal)) return null;
        int split = subject.IndexOf(blobs, containers.Length, StringComparison.Ordinal);
        return split < 0 ? null : FromBlob(subject[containers.Length..split], subject[(split + blobs.Length)..]);
    }

    /// <summary>"round-0003" is (3, 0); "round-0003-retry-2" is (3, 2); anything else has no round.</summary>
    private static (int? Round, int Attempt) ParseRoundFolder(string folder)
    {
        const string retry = "-retry-";
        int at = folder.IndexOf(retry, StringComparison.Ordinal);
        if (at < 0) return (BlobLayout.ParseRoundSegment(folder), 0);
        return int.TryParse(folder.AsSpan(at + retry.Length), NumberStyles.None, CultureInfo.InvariantCulture, out int attempt) && attempt > 0
            ? (BlobLayout.ParseRoundSegment(folder[..at]), attempt)
            : (null, 0);
    }
}
