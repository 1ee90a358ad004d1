namespace FedTune.Orchestration.Api;

/// <summary>The operator API's routes (after the <c>/api/</c> prefix), the same in the Functions app and the local host.</summary>
public static class OperatorRoutes
{
    public const string Runs = "runs";
    public const string Run = "runs/{runId}";
    public const string Terminate = "runs/{runId}/terminate";
    public const string Adapter = "runs/{runId}/adapter";
    public const string RoundRecord = "runs/{runId}/rounds/{round:int}";
    public const string UploadArrived = "runs/{runId}/rounds/{round:int}/hospitals/{hospitalId}/upload-arrived";

    /// <summary>Largest configuration body accepted by the start endpoint.</summary>
    public const int MaxConfigBytes = 1 << 20;
}
