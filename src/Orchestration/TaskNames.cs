namespace FedTune.Orchestration;

/// <summary>Names the orchestrations and activities are registered under, in both hosts.</summary>
public static class TaskNames
{
    public const string FederationOrchestrator = nameof(FederationOrchestrator);
    public const string WriteRoundTasks = nameof(WriteRoundTasks);
    public const string CheckUploads = nameof(CheckUploads);
    public const string AggregateRound = nameof(AggregateRound);
    public const string SaveCheckpoint = nameof(SaveCheckpoint);
    public const string ImportCheckpoint = nameof(ImportCheckpoint);
    public const string CreateInitialAdapter = nameof(CreateInitialAdapter);
    public const string CheckSecAggMessages = nameof(CheckSecAggMessages);
    public const string WriteSecAggRoster = nameof(WriteSecAggRoster);
    public const string RouteSecAggShares = nameof(RouteSecAggShares);
    public const string WriteSecAggRevealRequests = nameof(WriteSecAggRevealRequests);
    public const string AggregateSecureRound = nameof(AggregateSecureRound);

    /// <summary>
    /// External event raised on a run's orchestration (instance id = run id) with an <c>UploadNotice</c>: the named
    /// hospitals' uploads are checked now instead of at the next safety-net poll.
    /// </summary>
    public const string UploadArrivedEvent = "UploadArrived";
}
