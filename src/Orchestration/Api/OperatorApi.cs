using System.Globalization;
using System.Text;
using FedTune.Core.Configuration;
using FedTune.Core.Protocol;
using FedTune.Orchestration.Activities;
using FedTune.Orchestration.Events;
using FedTune.Orchestration.Orchestrators;
using FedTune.Orchestration.Plans;
using FedTune.Orchestration.Status;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;

namespace FedTune.Orchestration.Api;

/// <summary>
/// The operator API's logic, shared by the Functions app and the local host (both only translate HTTP to these
/// calls): start a run from a configuration, get its status, list runs, terminate, download the latest global
/// adapter, read a round record, and nudge a hospital's monitor. A caller's mistake is a 4xx with a message that
/// names the problem and the fix, never a 500.
/// </summary>
public sealed class OperatorApi(DurableTaskClient client, BlobStore store, Func<TimeSpan, MonitorSettings>? monitorFor = null)
{
    /// <summary>Starts a run from the YAML text of a configuration with a <c>federation:</c> section.</summary>
    /// <param name="runId">The run id to use; a new one (run-yyyyMMdd-HHmmss-xxxxxx) when null or empty.</param>
    /// <param name="fromRun">Start from a checkpoint of this earlier run.</param>
    /// <param name="fromRound">That run's checkpoint round (its latest when null).</param>
    public async Task<OperatorResponse> StartRunAsync(string yaml, string? runId, string? fromRun, int? fromRound,
        CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrWhiteSpace(yaml))
        {
            return OperatorResponse.Problem(400, "empty_config",
                "The request body is empty. Fix: POST the YAML configuration (with its federation: section) as the body.");
        }
        if (Encoding.UTF8.GetByteCount(yaml) > OperatorRoutes.MaxConfigBytes)
        {
            return OperatorResponse.Problem(413, "config_too_large", $"The configuration is larger than {OperatorRoutes.MaxConfigBytes} bytes.");
        }
        runId = string.IsNullOrWhiteSpace(runId) ? NewRunId() : runId.Trim();
        if (!IsValidRunId(runId, out var runIdProblem)) return OperatorResponse.Problem(400, "invalid_run_id", runIdProblem!);

        CheckpointSource? startFrom = null;
        if (!string.IsNullOrWhiteSpace(fromRun))
        {
            if (!IsValidRunId(fromRun, out var fromProblem)) return OperatorResponse.Problem(400, "invalid_from_run", fromProblem!);
            var checkpoint = await CheckpointCatalog.FindAsync(store, fromRun, fromRound, cancellationToken).ConfigureAwait(false);
            if (checkpoint == null)
            {
                var rounds = await CheckpointCatalog.RoundsAsync(store, fromRun, cancellationToken).ConfigureAwait(false);
                return OperatorResponse.Problem(400, "checkpoint_not_found", rounds.Count == 0
                    ? $"Run {fromRun} has no checkpoints. Fix: pick a run that saved checkpoints (train.save_every_round > 0)."
                    : $"Run {fromRun} has no checkpoint for round {fromRound}. Fix: use one of rounds {string.Join(", ", rounds)}.");
            }
            startFrom = new CheckpointSource(fromRun, checkpoint.Round);
        }

        FederationPlan plan;
        try
        {
            var config = FedTuneConfigLoader.Parse(yaml, "request body");
            plan = FederationPlanBuilder.FromConfig(config, runId, startFrom, monitorFor?.Invoke(config.Federation.RoundDeadline));
        }
        catch (ConfigException e)
        {
            return OperatorResponse.Problem(400, "invalid_config", e.Message);
        }
        catch (ArgumentException e)
        {
            return OperatorResponse.Problem(400, "invalid_config", e.Message);
        }
        return await StartPlanAsync(plan, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Starts a run from a ready plan (tests, <c>fedtune simulate</c>); 409 when the run id is in use.</summary>
    public async Task<OperatorResponse> StartPlanAsync(FederationPlan plan, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var existing = await client.GetInstanceAsync(plan.RunId, getInputsAndOutputs: false, cancellationToken).ConfigureAwait(false);
        if (existing != null)
        {
            return OperatorResponse.Problem(409, "run_exists",
                $"Run {plan.RunId} already exists ({Describe(existing.RuntimeStatus)}). Fix: choose another run id, or omit it to get a new one.");
        }
        await client.ScheduleNewOrchestrationInstanceAsync(TaskNames.FederationOrchestrator, new FederationState { Plan = plan },
            new StartOrchestrationOptions { InstanceId = plan.RunId }, cancellationToken).ConfigureAwait(false);
        return OperatorResponse.Json(202, new StartedRun(plan.RunId, "/api/" + OperatorRoutes.Run.Replace("{runId}", plan.RunId, StringComparison.Ordinal)));
    }

    public async Task<OperatorResponse> GetRunAsync(string runId, CancellationToken cancellationToken = default)
    {
        var view = await FindRunAsync(runId, cancellationToken).ConfigureAwait(false);
        return view == null ? NotFound(runId) : OperatorResponse.Json(200, view);
    }

    /// <summary>The run as the status API shows it, or null when there is no such run.</summary>
    public async Task<RunView?> FindRunAsync(string runId, CancellationToken cancellationToken = default)
    {
        if (!IsValidRunId(runId, out _)) return null;
        var metadata = await client.GetInstanceAsync(runId, getInputsAndOutputs: true, cancellationToken).ConfigureAwait(false);
        return metadata == null || metadata.Name != TaskNames.FederationOrchestrator ? null : ToView(metadata);
    }

    /// <summary>Federation runs, newest first (at most <paramref name="limit"/>).</summary>
    public async Task<OperatorResponse> ListRunsAsync(int limit = 100, CancellationToken cancellationToken = default)
    {
        var runs = new List<RunView>();
        var query = new OrchestrationQuery { PageSize = 100, FetchInputsAndOutputs = true };
        await foreach (var metadata in client.GetAllInstancesAsync(query).WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            if (metadata.Name == TaskNames.FederationOrchestrator) runs.Add(ToView(metadata));
        }
        return OperatorResponse.Json(200, new RunList(runs.OrderByDescending(r => r.CreatedUtc).Take(Math.Max(1, limit)).ToArray()));
    }

    /// <summary>Terminates a running run (its hospitals' rounds stop being watched; uploads already made stay in storage).</summary>
    public async Task<OperatorResponse> TerminateAsync(string runId, string? reason, CancellationToken cancellationToken = default)
    {
        var view = await FindRunAsync(runId, cancellationToken).ConfigureAwait(false);
        if (view == null) return NotFound(runId);
        if (view.RuntimeStatus is "completed" or "failed" or "terminated")
        {
            return OperatorResponse.Problem(409, "run_finished", $"Run {runId} is already {view.RuntimeStatus}; there is nothing to terminate.");
        }
        await client.TerminateInstanceAsync(runId, new TerminateInstanceOptions { Output = reason ?? "terminated by an operator", Recursive = true },
            cancellationToken).ConfigureAwait(false);
        return OperatorResponse.Json(202, new { run_id = runId, terminating = true });
    }

    /// <summary>The run's newest global adapter (wire format), with X-FedTune-Round and X-FedTune-Sha256 headers.</summary>
    public async Task<OperatorResponse> DownloadLatestAdapterAsync(string runId, CancellationToken cancellationToken = default)
    {
        if (!IsValidRunId(runId, out _)) return NotFound(runId);
        var latest = await LatestGlobalAdapterAsync(store, runId, cancellationToken).ConfigureAwait(false);
        if (latest == null)
        {
            var view = await FindRunAsync(runId, cancellationToken).ConfigureAwait(false);
            return view == null
                ? NotFound(runId)
                : OperatorResponse.Problem(404, "no_adapter_yet", $"Run {runId} has not produced a global adapter yet ({view.Status?.Phase ?? view.RuntimeStatus}). Try again after its first round.");
        }
        var stream = await store.OpenReadAsync(latest.Value.Adapter.Blob, cancellationToken).ConfigureAwait(false);
        var response = OperatorResponse.Download(stream);
        response.Headers["X-FedTune-Round"] = latest.Value.Round.ToString(CultureInfo.InvariantCulture);
        response.Headers["X-FedTune-Sha256"] = latest.Value.Adapter.Sha256;
        response.Headers["Content-Disposition"] = $"attachment; filename=\"{runId}-round-{latest.Value.Round}.safetensors\"";
        return response;
    }

    /// <summary>
    /// The newest global adapter of a run: the one named by its newest round record (the record is create-once, so a
    /// repeated aggregation's extra blob is never served), else an imported start adapter (round 0), else null.
    /// </summary>
    public static async Task<(int Round, ContentRef Adapter)?> LatestGlobalAdapterAsync(BlobStore store, string runId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        var records = BlobLayout.RoundRecordFolder(runId);
        var rounds = new SortedSet<int>();
        await foreach (var name in store.ListNamesAsync(BlobLayout.GlobalContainer, records, cancellationToken).ConfigureAwait(false))
        {
            var parts = name[records.Length..].Split('/');
            if (parts.Length == 2 && parts[1] == "record.json" && BlobLayout.ParseRoundSegment(parts[0]) is int round) rounds.Add(round);
        }
        foreach (int round in rounds.Reverse())
        {
            var record = await store.TryReadJsonAsync<RoundRecord>(BlobLayout.RoundRecord(runId, round), cancellationToken).ConfigureAwait(false);
            if (record?.GlobalAdapter != null) return (round, record.GlobalAdapter);
        }
        var initial = BlobLayout.GlobalAdapterFolder(runId) + BlobLayout.RoundSegment(0) + "/";
        await foreach (var name in store.ListNamesAsync(BlobLayout.GlobalContainer, initial, cancellationToken).ConfigureAwait(false))
        {
            var file = name[initial.Length..];
            if (file.StartsWith("adapter-", StringComparison.Ordinal) && file.EndsWith(".bin", StringComparison.Ordinal) && BlobLayout.IsSha256(file[8..^4]))
            {
                var blob = new BlobRef(BlobLayout.GlobalContainer, name);
                var properties = await store.Blob(blob).GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
                return (0, new ContentRef(blob, file[8..^4], properties.Value.ContentLength));
            }
        }
        return null;
    }

    public async Task<OperatorResponse> GetRoundRecordAsync(string runId, int round, CancellationToken cancellationToken = default)
    {
        if (!IsValidRunId(runId, out _) || round < 1) return NotFound(runId);
        var record = await store.TryReadJsonAsync<RoundRecord>(BlobLayout.RoundRecord(runId, round), cancellationToken).ConfigureAwait(false);
        return record == null
            ? OperatorResponse.Problem(404, "no_round_record", $"Run {runId} has no record for round {round} (not aggregated yet, or no such run).")
            : OperatorResponse.Json(200, record);
    }

    /// <summary>The dashboard page; the same HTML for every run (it reads <c>?run=ID</c> and polls <see cref="GetDashboardAsync"/>).</summary>
    public static OperatorResponse DashboardPage()
    {
        var page = OperatorResponse.Content(200, "text/html; charset=utf-8", Dashboard.DashboardPage.Bytes);
        page.Headers["Content-Security-Policy"] = Dashboard.DashboardPage.ContentSecurityPolicy;
        page.Headers["Cache-Control"] = "no-store";
        return page;
    }

    /// <summary>One run for the dashboard: status, round in progress, recipe, and the rounds and evaluations the page does not have yet.</summary>
    public async Task<OperatorResponse> GetDashboardAsync(string runId, string? afterRound, string? afterEvaluation, CancellationToken cancellationToken = default)
    {
        if (!TryCursor(afterRound, 0, out int rounds)) return OperatorResponse.Problem(400, "invalid_after_round", $"after_round '{afterRound}' is not a round number.");
        if (!TryCursor(afterEvaluation, -1, out int evaluations))
        {
            return OperatorResponse.Problem(400, "invalid_after_evaluation", $"after_evaluation '{afterEvaluation}' is not a round number (or -1).");
        }
        var view = await FindRunAsync(runId, cancellationToken).ConfigureAwait(false);
        if (view == null) return NotFound(runId);
        var dashboard = await new Dashboard.RunDashboardReader(store).ReadAsync(view, rounds, evaluations, cancellationToken).ConfigureAwait(false);
        return OperatorResponse.Json(200, dashboard);
    }

    private static bool TryCursor(string? text, int empty, out int value)
    {
        value = empty;
        return string.IsNullOrEmpty(text) || (int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value) && value >= -1);
    }

    /// <summary>
    /// Makes the run check the hospital's upload of the round now (the same notice the Event Grid trigger and the local
    /// upload watcher raise; optional, since those find uploads by themselves).
    /// </summary>
    public async Task<OperatorResponse> NotifyUploadArrivedAsync(string runId, int round, string hospitalId, CancellationToken cancellationToken = default)
    {
        if (!BlobLayout.IsValidHospitalId(hospitalId)) return OperatorResponse.Problem(400, "invalid_hospital", $"'{hospitalId}' is not a hospital id.");
        var view = await FindRunAsync(runId, cancellationToken).ConfigureAwait(false);
        if (view == null) return NotFound(runId);
        if (view.RuntimeStatus != "running" || view.Status?.Round != round || view.Status.Phase != FederationPhases.Training)
        {
            return OperatorResponse.Problem(409, "round_not_waiting", $"Hospital {hospitalId} has no round {round} waiting for an upload in run {runId}.");
        }
        var hospital = BlobLayout.NormalizeHospitalId(hospitalId);
        await new UploadEventRouter(client).NotifyAsync([new UploadLocation(runId, round, view.Status.Attempt, hospital)], cancellationToken)
            .ConfigureAwait(false);
        return OperatorResponse.Json(202, new { run_id = runId, round, hospital_id = hospital, notified = true });
    }

    private static RunView ToView(OrchestrationMetadata metadata)
    {
        FederationStatus? status = null;
        FederationResult? result = null;
        try
        {
            if (metadata.SerializedCustomStatus != null) status = metadata.ReadCustomStatusAs<FederationStatus>();
            if (metadata.RuntimeStatus == OrchestrationRuntimeStatus.Completed && metadata.SerializedOutput != null) result = metadata.ReadOutputAs<FederationResult>();
        }
        catch (System.Text.Json.JsonException)
        {
            // A status written by another version: show the run without it.
        }
        return new RunView
        {
            RunId = metadata.InstanceId,
            RuntimeStatus = Describe(metadata.RuntimeStatus),
            CreatedUtc = metadata.CreatedAt,
            LastUpdatedUtc = metadata.LastUpdatedAt,
            Status = status,
            Result = result,
            Failure = FailureReason(metadata),
        };
    }

    /// <summary>
    /// Why a run failed: the failure details' message, or (the Azure Storage provider behind the gRPC sidecar reports
    /// no failure details) the failed orchestration's output, which holds the same message.
    /// </summary>
    public static string? FailureReason(OrchestrationMetadata metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        if (metadata.RuntimeStatus != OrchestrationRuntimeStatus.Failed) return null;
        return metadata.FailureDetails?.ErrorMessage ?? metadata.SerializedOutput ?? "The run failed without a reason (see the host's log).";
    }

    private static string Describe(OrchestrationRuntimeStatus status) => status switch
    {
        OrchestrationRuntimeStatus.Running => "running",
        OrchestrationRuntimeStatus.Completed => "completed",
        OrchestrationRuntimeStatus.Failed => "failed",
        OrchestrationRuntimeStatus.Terminated => "terminated",
        OrchestrationRuntimeStatus.Pending => "pending",
        OrchestrationRuntimeStatus.Suspended => "suspended",
        _ => status.ToString().ToLowerInvariant(),
    };

    private static OperatorResponse NotFound(string runId) =>
        OperatorResponse.Problem(404, "run_not_found", $"There is no run '{runId}'. Fix: GET /api/runs lists the runs.");

    private static bool IsValidRunId(string runId, out string? problem)
    {
        try
        {
            BlobLayout.ValidateRunId(runId);
            problem = null;
            return true;
        }
        catch (ArgumentException e)
        {
            problem = e.Message;
            return false;
        }
    }

    /// <summary>run-20261124-203000-1a2b3c: sortable by start time, unique enough for humans to read.</summary>
    public static string NewRunId() =>
        string.Create(CultureInfo.InvariantCulture, $"run-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Guid.NewGuid().ToString("N")[..6]}");
}
