namespace FedTune.Orchestration;

/// <summary>Names the orchestrations and activities are registered under, in both hosts.</summary>
public static class TaskNames
{
    public const string FederationOrchestrator = nameof(FederationOrchestrator);
    public const string HospitalRoundOrchestrator = nameof(HospitalRoundOrchestrator);
    public const string WriteRoundTask = nameof(WriteRoundTask);
    public const string CheckUpload = nameof(CheckUpload);
    public const string AggregateRound = nameof(AggregateRound);
    public const string SaveCheckpoint = nameof(SaveCheckpoint);
    public const string ImportCheckpoint = nameof(ImportCheckpoint);
    public const string CreateInitialAdapter = nameof(CreateInitialAdapter);

    /// <summary>External event that makes a hospital's round check its upload now instead of at the next timer.</summary>
    public const string UploadArrivedEvent = "UploadArrived";

    /// <summary>The deterministic instance id of a hospital's round sub-orchestration.</summary>
    public static string HospitalRoundInstanceId(string runId, int round, int attempt, string hospitalId) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{runId}:r{round}:a{attempt}:{hospitalId}");
}
