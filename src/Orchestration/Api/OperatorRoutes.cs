namespace FedTune.Orchestration.Api;

/// <summary>The operator API's routes (after the <c>/api/</c> prefix), the same in the Functions app and the local host.</summary>
public static class OperatorRoutes
{
    public const string Runs = "runs";
    public const string Run = "runs/{runId}";
    public const string Terminate = "runs/{runId}/terminate";
    public const string Adapter = "runs/{runId}/adapter";
    public const string RoundRecord = "runs/{runId}/rounds/{round:int}";
    /// <summary>The dashboard page (HTML): the runs, and one run live with <c>?run=ID</c>.</summary>
    public const string Dashboard = "dashboard";
    /// <summary>What the dashboard page polls for one run (JSON; <c>after_round</c> and <c>after_evaluation</c> skip what it has).</summary>
    public const string RunDashboard = "runs/{runId}/dashboard";

    /// <summary>The dashboard page of one run, relative to the API's base address (…/api/).</summary>
    public static string DashboardOf(string runId) => Dashboard + "?run=" + Uri.EscapeDataString(runId);
    public const string UploadArrived = "runs/{runId}/rounds/{round:int}/hospitals/{hospitalId}/upload-arrived";

    /// <summary>Largest configuration body accepted by the start endpoint.</summary>
    public const int MaxConfigBytes = 1 << 20;
}
