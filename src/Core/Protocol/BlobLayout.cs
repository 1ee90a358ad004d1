using System.Globalization;
using System.Text.RegularExpressions;

namespace FedTune.Core.Protocol;

/// <summary>
/// The one place that knows where everything lives in Blob Storage. Each hospital has its own container
/// (<c>hospital-&lt;id&gt;</c>) holding its round tasks and uploads, so a hospital's identity can be scoped to it;
/// the <c>global</c> container holds global adapters, round records and checkpoints.
/// </summary>
/// <remarks>
/// Per run and round inside a hospital container:
/// <c>runs/{run}/round-{NNNN}/task.json</c> (<c>round-{NNNN}-retry-{k}/</c> for a retried round) (written by the orchestrator),
/// <c>runs/{run}/round-{NNNN}/update/adapter-{sha256}.bin</c> then <c>.../update/manifest.json</c> (written by the agent,
/// manifest last so the orchestrator only sees complete uploads), or <c>.../failed.json</c>.
/// In <c>global</c>: <c>runs/{run}/global/round-{NNNN}/adapter-{sha256}.bin</c> (round 0 = the initial adapter),
/// <c>runs/{run}/rounds/round-{NNNN}/record.json</c>, <c>runs/{run}/server-state/round-{NNNN}/state-{sha256}.bin</c>,
/// <c>runs/{run}/checkpoints/round-{NNNN}/checkpoint.json</c>.
/// </remarks>
public static partial class BlobLayout
{
    /// <summary>Container for global adapters, round records and checkpoints.</summary>
    public const string GlobalContainer = "global";

    /// <summary>Default prefix of a hospital's container name.</summary>
    public const string HospitalContainerPrefix = "hospital-";

    /// <summary>Blob name of a hospital's update manifest inside its round folder.</summary>
    public const string ManifestFileName = "manifest.json";

    /// <summary>Blob name of a round task inside its round folder.</summary>
    public const string TaskFileName = "task.json";

    private const int MaxContainerLength = 63;

    [GeneratedRegex("^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9]))*$", RegexOptions.CultureInvariant)]
    private static partial Regex ContainerSafe();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$", RegexOptions.CultureInvariant)]
    private static partial Regex RunIdPattern();

    [GeneratedRegex("^[0-9a-f]{64}$", RegexOptions.CultureInvariant)]
    private static partial Regex Sha256Pattern();

    /// <summary>The normalized (lowercase) hospital id, or a <see cref="ArgumentException"/> that says what is allowed.</summary>
    public static string NormalizeHospitalId(string hospitalId)
    {
        ArgumentNullException.ThrowIfNull(hospitalId);
        var id = hospitalId.Trim().ToLowerInvariant();
        if (id.Length == 0 || id.Length > MaxContainerLength - HospitalContainerPrefix.Length || !ContainerSafe().IsMatch(id))
        {
            throw new ArgumentException(
                $"Hospital id '{hospitalId}' cannot name a storage container. Fix: use 1-{MaxContainerLength - HospitalContainerPrefix.Length} " +
                "characters from a-z, 0-9 and single hyphens, starting and ending with a letter or digit (e.g. 'st-marys-2').",
                nameof(hospitalId));
        }
        return id;
    }

    /// <summary>True when <paramref name="hospitalId"/> can name a hospital container.</summary>
    public static bool IsValidHospitalId(string hospitalId)
    {
        try
        {
            NormalizeHospitalId(hospitalId);
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    /// <summary>The run id, validated: letters, digits, '.', '_' and '-', at most 100 characters.</summary>
    public static string ValidateRunId(string runId)
    {
        ArgumentNullException.ThrowIfNull(runId);
        if (!RunIdPattern().IsMatch(runId))
        {
            throw new ArgumentException(
                $"Run id '{runId}' is not allowed. Fix: use 1-100 characters from A-Z, a-z, 0-9, '.', '_' and '-', starting with a letter or digit.",
                nameof(runId));
        }
        return runId;
    }

    /// <summary>True for a lowercase hex SHA-256.</summary>
    public static bool IsSha256(string? value) => value != null && Sha256Pattern().IsMatch(value);

    /// <summary>A lowercase hex SHA-256, validated.</summary>
    public static string ValidateSha256(string sha256)
    {
        ArgumentNullException.ThrowIfNull(sha256);
        if (!Sha256Pattern().IsMatch(sha256))
        {
            throw new ArgumentException($"'{sha256}' is not a lowercase hex SHA-256 (64 characters 0-9a-f).", nameof(sha256));
        }
        return sha256;
    }

    /// <summary>The container for a hospital's tasks and uploads: <c>hospital-&lt;id&gt;</c>.</summary>
    public static string HospitalContainer(string hospitalId) => HospitalContainerPrefix + NormalizeHospitalId(hospitalId);

    /// <summary>Folder of one round inside a hospital container; a retried round (attempt &gt; 0) gets its own folder.</summary>
    public static string HospitalRoundFolder(string runId, int round, int attempt = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(attempt);
        return attempt == 0
            ? $"runs/{ValidateRunId(runId)}/{RoundSegment(round)}/"
            : $"runs/{ValidateRunId(runId)}/{RoundSegment(round)}-retry-{attempt.ToString(CultureInfo.InvariantCulture)}/";
    }

    /// <summary>The hospital's round task.</summary>
    public static BlobRef RoundTask(string runId, int round, string hospitalId, int attempt = 0) =>
        new(HospitalContainer(hospitalId), HospitalRoundFolder(runId, round, attempt) + TaskFileName);

    /// <summary>Folder the agent uploads into (adapter first, manifest last).</summary>
    public static string UpdateFolder(string runId, int round, int attempt = 0) => HospitalRoundFolder(runId, round, attempt) + "update/";

    /// <summary>The hospital's uploaded adapter, named by its content hash.</summary>
    public static BlobRef UpdateAdapter(string runId, int round, string hospitalId, string sha256, int attempt = 0) =>
        new(HospitalContainer(hospitalId), UpdateAdapterName(UpdateFolder(runId, round, attempt), sha256));

    /// <summary>The adapter blob name inside a task's <see cref="FedTune.Core.Protocol.RoundTask.UpdateFolder"/>.</summary>
    public static string UpdateAdapterName(string updateFolder, string sha256) => updateFolder + $"adapter-{ValidateSha256(sha256)}.bin";

    /// <summary>The manifest that completes an upload.</summary>
    public static BlobRef UpdateManifest(string runId, int round, string hospitalId, int attempt = 0) =>
        new(HospitalContainer(hospitalId), UpdateFolder(runId, round, attempt) + ManifestFileName);

    /// <summary>The marker an agent writes when it cannot do the task.</summary>
    public static BlobRef FailedTaskMarker(string runId, int round, string hospitalId, int attempt = 0) =>
        new(HospitalContainer(hospitalId), HospitalRoundFolder(runId, round, attempt) + "failed.json");

    /// <summary>
    /// A secure-aggregation message of one hospital's round (<see cref="SecAggFiles"/>): keys, shares and reveal written by
    /// the agent; roster, inbox and reveal request written by the orchestrator. All in the hospital's own round folder.
    /// </summary>
    public static BlobRef SecAggMessage(string runId, int round, string hospitalId, int attempt, string fileName) =>
        new(HospitalContainer(hospitalId), HospitalRoundFolder(runId, round, attempt) + "secagg/" + fileName);

    /// <summary>The orchestrator's own copy of a round's secure-aggregation roster (hospitals cannot write the global container).</summary>
    public static BlobRef SecAggRosterRecord(string runId, int round, int attempt) =>
        new(GlobalContainer, $"runs/{ValidateRunId(runId)}/secagg/{RoundSegment(round)}-attempt-{attempt.ToString(CultureInfo.InvariantCulture)}/roster.json");

    /// <summary>Prefix under which an agent lists its container for round tasks (blobs ending in <see cref="TaskFileName"/>).</summary>
    public const string RunsPrefix = "runs/";

    /// <summary>Folder of a run's global adapters.</summary>
    public static string GlobalAdapterFolder(string runId) => $"runs/{ValidateRunId(runId)}/global/";

    /// <summary>The global adapter produced by <paramref name="round"/> (round 0: the initial adapter), named by its hash.</summary>
    public static BlobRef GlobalAdapter(string runId, int round, string sha256) =>
        new(GlobalContainer, GlobalAdapterFolder(runId) + $"{RoundSegment(round)}/adapter-{ValidateSha256(sha256)}.bin");

    /// <summary>The round record written by the aggregation.</summary>
    public static BlobRef RoundRecord(string runId, int round) =>
        new(GlobalContainer, $"runs/{ValidateRunId(runId)}/rounds/{RoundSegment(round)}/record.json");

    /// <summary>Folder of a run's round records.</summary>
    public static string RoundRecordFolder(string runId) => $"runs/{ValidateRunId(runId)}/rounds/";

    /// <summary>Server-side optimizer state (momentum, Adam moments) after <paramref name="round"/>, named by hash.</summary>
    public static BlobRef ServerState(string runId, int round, string sha256) =>
        new(GlobalContainer, $"runs/{ValidateRunId(runId)}/server-state/{RoundSegment(round)}/state-{ValidateSha256(sha256)}.bin");

    /// <summary>Folder of a run's checkpoints.</summary>
    public static string CheckpointFolder(string runId) => $"runs/{ValidateRunId(runId)}/checkpoints/";

    /// <summary>The checkpoint record kept after <paramref name="round"/>.</summary>
    public static BlobRef Checkpoint(string runId, int round) =>
        new(GlobalContainer, CheckpointFolder(runId) + $"{RoundSegment(round)}/checkpoint.json");

    /// <summary>The adapter copy a checkpoint keeps (independent of the global adapter, which may be cleaned up).</summary>
    public static BlobRef CheckpointAdapter(string runId, int round, string sha256) =>
        new(GlobalContainer, CheckpointFolder(runId) + $"{RoundSegment(round)}/adapter-{ValidateSha256(sha256)}.bin");

    /// <summary>"round-0007": zero-padded so names sort by round.</summary>
    public static string RoundSegment(int round)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(round);
        return "round-" + round.ToString("D4", CultureInfo.InvariantCulture);
    }

    /// <summary>The round number in a path segment written by <see cref="RoundSegment"/>, or null.</summary>
    public static int? ParseRoundSegment(string segment)
    {
        ArgumentNullException.ThrowIfNull(segment);
        return segment.StartsWith("round-", StringComparison.Ordinal) &&
               int.TryParse(segment.AsSpan(6), NumberStyles.None, CultureInfo.InvariantCulture, out int round)
            ? round
            : null;
    }
}
