using System.Diagnostics;
using System.Security.Cryptography;
using FedTune.ClientAgent.Configuration;
using FedTune.ClientAgent.Data;
using FedTune.ClientAgent.Engine;
using FedTune.ClientAgent.Status;
using FedTune.ClientAgent.Tasks;
using FedTune.ClientAgent.Work;
using FedTune.Core.Protocol;
using Microsoft.Extensions.Logging;

namespace FedTune.ClientAgent.Execution;

/// <summary>
/// Does one round task under its lease, as a state machine persisted in the task's work folder
/// (<see cref="TaskPhase"/>): download and verify the global adapter → train (trainer checkpoints) and evaluate →
/// upload the adapter → write the manifest. A restart continues from the last completed phase, so a task is
/// completed once however often the agent is killed. Bad input ends in a failed-task marker.
/// </summary>
public sealed partial class RoundTaskRunner(
    BlobStore store,
    AgentOptions options,
    AgentWorkspace workspace,
    IRoundTrainer trainer,
    AgentStatusBoard status,
    TimeProvider time,
    ILogger<RoundTaskRunner> logger)
{
    private const int DownloadChunk = 1 << 16;
    private readonly FaultInjection _faults = new(options.FaultInjection, logger);
    private readonly string _hospitalId = BlobLayout.NormalizeHospitalId(options.HospitalId);
    private readonly SecureAggregationParticipant _secure = new(store, options, time, logger, BlobLayout.NormalizeHospitalId(options.HospitalId));

    public async Task<TaskOutcome> RunAsync(PendingTask pending, CancellationToken stopping)
    {
        ArgumentNullException.ThrowIfNull(pending);
        await using var lease = await TaskLease.TryAcquireAsync(store, pending.LockBlob, workspace.InstanceId, options.Lease, logger, stopping)
            .ConfigureAwait(false);
        if (lease is null)
        {
            LogBusy(logger, pending.TaskBlob);
            return TaskOutcome.Busy;
        }

        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stopping, lease.Lost);
        var ct = linked.Token;
        try
        {
            return await RunLeasedAsync(pending, ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            LogInterrupted(logger, pending.TaskBlob, stopping.IsCancellationRequested ? "stopping" : "lease lost");
            return TaskOutcome.Interrupted;
        }
        finally
        {
            status.Update(s => s with { Activity = AgentActivity.Idle });
        }
    }

    private async Task<TaskOutcome> RunLeasedAsync(PendingTask pending, CancellationToken ct)
    {
        var taskBytes = await StorageRetry.RunAsync(c => store.TryReadAllBytesAsync(pending.TaskBlob, c), options.Upload, logger,
            "Reading the task", ct).ConfigureAwait(false);
        if (taskBytes is null)
        {
            return TaskOutcome.AlreadyDone;
        }

        RoundTask task;
        try
        {
            task = ProtocolJson.Deserialize<RoundTask>(taskBytes, pending.TaskBlob.ToString());
            CheckTaskIsOurs(task, pending);
        }
        catch (Exception e) when (e is ProtocolFormatException or TaskFailedException or ArgumentException)
        {
            var failure = e as TaskFailedException ?? new TaskFailedException("task_invalid",
                $"The round task at {pending.TaskBlob} cannot be read: {e.Message}", null, e);
            await WriteMarkerAsync(new BlobRef(pending.TaskBlob.Container, pending.RoundFolder + AgentBlobNames.FailedMarkerFileName),
                runId: "unknown", round: 0, attempt: 0, failure, ct).ConfigureAwait(false);
            return TaskOutcome.Failed;
        }

        var manifestBlob = new BlobRef(task.Container, task.ManifestBlob);
        var markerBlob = new BlobRef(task.Container, task.FailedMarkerBlob);
        if (await store.ExistsAsync(manifestBlob, ct).ConfigureAwait(false) || await store.ExistsAsync(markerBlob, ct).ConfigureAwait(false))
        {
            if (task.SecureAggregation is not null && await store.ExistsAsync(manifestBlob, ct).ConfigureAwait(false))
            {
                // Restarted after its masked upload: the survivors' reveal may still be owed.
                await _secure.RevealAsync(task, workspace.TaskFolder(pending.RoundFolder), ct).ConfigureAwait(false);
            }

            return TaskOutcome.AlreadyDone;
        }

        var folder = workspace.TaskFolder(pending.RoundFolder);
        string taskSha = Convert.ToHexStringLower(SHA256.HashData(taskBytes));
        var state = folder.ReadState();
        if (state is null || state.TaskSha256 != taskSha)
        {
            folder.DeleteBulkyFiles();
            var now = time.GetUtcNow();
            state = new TaskWorkState { TaskSha256 = taskSha, Phase = TaskPhase.New, UpdatedUtc = now, SeenUtc = now };
            folder.WriteState(state);
        }

        status.Update(s => s with { RunId = task.RunId, Round = task.Round, Step = 0, MaxSteps = Math.Max(0, task.Recipe.MaxSteps), LastLoss = null, LastOutcome = null });
        LogTaskTaken(logger, task.RunId, task.Round, task.Attempt, state.Phase);
        try
        {
            return await AdvanceAsync(task, folder, state, ct).ConfigureAwait(false);
        }
        catch (TaskFailedException failure)
        {
            await WriteMarkerAsync(markerBlob, task.RunId, task.Round, task.Attempt, failure, ct).ConfigureAwait(false);
            folder.WriteState(folder.ReadState()! with { Phase = TaskPhase.Failed, FailureReason = failure.ReasonCode, UpdatedUtc = time.GetUtcNow() });
            folder.DeleteBulkyFiles();
            return TaskOutcome.Failed;
        }
    }

    private async Task<TaskOutcome> AdvanceAsync(RoundTask task, TaskWorkFolder folder, TaskWorkState state, CancellationToken ct)
    {
        while (true)
        {
            switch (state.Phase)
            {
                case TaskPhase.Completed:
                case TaskPhase.Failed:
                    return TaskOutcome.AlreadyDone;
                case TaskPhase.Skipped:
                    return TaskOutcome.Skipped;
            }

            if (time.GetUtcNow() >= task.DeadlineUtc)
            {
                LogDeadlinePassed(logger, task.RunId, task.Round, task.DeadlineUtc, state.Phase);
                state = Save(folder, state with { Phase = TaskPhase.Skipped });
                folder.DeleteBulkyFiles();
                return TaskOutcome.Skipped;
            }

            if (state.Phase == TaskPhase.New && task.SecureAggregation is not null)
            {
                await _secure.PublishKeysAsync(task, folder, ct).ConfigureAwait(false);
            }

            state = state.Phase switch
            {
                TaskPhase.New => Save(folder, await DownloadAsync(task, folder, state, ct).ConfigureAwait(false)),
                TaskPhase.Downloaded => Save(folder, await TrainAsync(task, folder, state, ct).ConfigureAwait(false)),
                TaskPhase.Trained => Save(folder, await UploadAdapterAsync(task, folder, state, ct).ConfigureAwait(false)),
                TaskPhase.AdapterUploaded => Save(folder, await UploadManifestAsync(task, state, ct).ConfigureAwait(false)),
                _ => throw new InvalidOperationException($"Unexpected task phase {state.Phase}."),
            };

            if (state.Phase == TaskPhase.AdapterUploaded)
            {
                await _faults.PauseIfArmedAsync(FaultPoint.Upload, task.Round, ct).ConfigureAwait(false);
            }

            if (state.Phase == TaskPhase.Completed)
            {
                folder.DeleteBulkyFiles();
                if (task.SecureAggregation is not null)
                {
                    await _secure.RevealAsync(task, folder, ct).ConfigureAwait(false);
                }

                var privacy = state.Metrics?.RecordEpsilon is double epsilon && task.Recipe.RecordPrivacy is { } dp
                    ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $", record-level DP ε {epsilon:F2} at δ {dp.Delta:G3} spent so far")
                    : "";
                LogCompleted(logger, task.RunId, task.Round, state.ExampleCount, state.Metrics?.TrainLoss, state.Metrics?.HeldOutNll, privacy);

                return TaskOutcome.Completed;
            }
        }
    }

    private TaskWorkState Save(TaskWorkFolder folder, TaskWorkState state)
    {
        var saved = state with { UpdatedUtc = time.GetUtcNow() };
        folder.WriteState(saved);
        return saved;
    }

    private void CheckTaskIsOurs(RoundTask task, PendingTask pending)
    {
        if (BlobLayout.NormalizeHospitalId(task.HospitalId) != _hospitalId || task.Container != pending.TaskBlob.Container)
        {
            throw new TaskFailedException("task_invalid",
                $"The task at {pending.TaskBlob} is for hospital '{task.HospitalId}' (container '{task.Container}'), not '{_hospitalId}'. " +
                "Fix: the orchestrator must write each hospital's tasks into its own container.");
        }

        if (!task.UpdateFolder.StartsWith(pending.RoundFolder, StringComparison.Ordinal) ||
            !task.ManifestBlob.StartsWith(pending.RoundFolder, StringComparison.Ordinal) ||
            !task.FailedMarkerBlob.StartsWith(pending.RoundFolder, StringComparison.Ordinal))
        {
            throw new TaskFailedException("task_invalid",
                $"The task at {pending.TaskBlob} points its uploads outside its round folder '{pending.RoundFolder}'.");
        }
    }

    private async Task<TaskWorkState> DownloadAsync(RoundTask task, TaskWorkFolder folder, TaskWorkState state, CancellationToken ct)
    {
        status.Update(s => s with { Activity = AgentActivity.Downloading });
        var watch = Stopwatch.StartNew();
        string actual = await StorageRetry.RunAsync(c => DownloadOnceAsync(task.GlobalAdapter, task.Round, folder.GlobalAdapterPartialFile, c),
            options.Upload, logger, $"Downloading the global adapter {task.GlobalAdapter.Blob}", ct).ConfigureAwait(false);
        long length = new FileInfo(folder.GlobalAdapterPartialFile).Length;
        if (actual != task.GlobalAdapter.Sha256 || length != task.GlobalAdapter.Bytes)
        {
            File.Delete(folder.GlobalAdapterPartialFile);
            throw new TaskFailedException(FailureReasons.GlobalAdapterHashMismatch,
                $"The global adapter {task.GlobalAdapter.Blob} has SHA-256 {actual} ({length} bytes) but the task names " +
                $"{task.GlobalAdapter.Sha256} ({task.GlobalAdapter.Bytes} bytes). It was changed or truncated after the task was written; " +
                "the orchestrator must re-issue the round.");
        }

        File.Move(folder.GlobalAdapterPartialFile, folder.GlobalAdapterFile, overwrite: true);
        LogDownloaded(logger, task.GlobalAdapter.Blob, length, actual);
        return state with { Phase = TaskPhase.Downloaded, Timings = state.Timings with { DownloadSeconds = watch.Elapsed.TotalSeconds } };
    }

    private async Task<string> DownloadOnceAsync(ContentRef adapter, int round, string partialFile, CancellationToken ct)
    {
        using var hasher = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        await using var source = await store.OpenReadAsync(adapter.Blob, ct).ConfigureAwait(false);
        await using var target = new FileStream(partialFile, FileMode.Create, FileAccess.Write, FileShare.None);
        var buffer = new byte[DownloadChunk];
        bool first = true;
        int read;
        while ((read = await source.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
        {
            hasher.AppendData(buffer, 0, read);
            await target.WriteAsync(buffer.AsMemory(0, read), ct).ConfigureAwait(false);
            if (first)
            {
                first = false;
                await target.FlushAsync(ct).ConfigureAwait(false);
                await _faults.PauseIfArmedAsync(FaultPoint.Download, round, ct).ConfigureAwait(false);
            }
        }

        target.Flush(flushToDisk: true);
        return Convert.ToHexStringLower(hasher.GetHashAndReset());
    }

    private async Task<TaskWorkState> TrainAsync(RoundTask task, TaskWorkFolder folder, TaskWorkState state, CancellationToken ct)
    {
        var data = HospitalDataLoader.Load(options.Data);
        status.Update(s => s with { Activity = AgentActivity.Training });
        var request = new RoundTrainingRequest(task, folder.GlobalAdapterFile, data,
            folder.CheckpointFolder, folder.TrainedAdapterFile, new Progress(status, _faults, task.Round, ct));
        RoundTrainingOutcome outcome;
        try
        {
            outcome = await Task.Factory.StartNew(() => trainer.Train(request, ct), ct, TaskCreationOptions.LongRunning, TaskScheduler.Default)
                .ConfigureAwait(false);
        }
        catch (Exception e) when (e is not TaskFailedException and not OperationCanceledException)
        {
            LogTrainingError(logger, e, task.RunId, task.Round);
            throw new TaskFailedException(FailureReasons.TrainingError,
                $"Training failed ({e.GetType().Name}). The agent's local log has the details; fix the cause and the orchestrator can re-issue the round.",
                e.ToString(), e);
        }

        if (outcome.LoadedModel) status.Update(s => s with { ModelLoads = s.ModelLoads + 1 });
        if (task.SecureAggregation is not null)
        {
            await _secure.MaskTrainedAdapterAsync(task, folder, outcome.ExampleCount, ct).ConfigureAwait(false);
        }
        else
        {
            UploadEncoder.EncodeInPlace(folder.TrainedAdapterFile, task.Recipe.WirePrecision, task.Seed);
        }

        byte[] adapterBytes = await File.ReadAllBytesAsync(folder.TrainedAdapterFile, ct).ConfigureAwait(false);
        return state with
        {
            Phase = TaskPhase.Trained,
            TrainedAdapterSha256 = Convert.ToHexStringLower(SHA256.HashData(adapterBytes)),
            TrainedAdapterBytes = adapterBytes.LongLength,
            ExampleCount = outcome.ExampleCount,
            Metrics = outcome.Metrics,
            Timings = state.Timings with { TrainSeconds = outcome.TrainSeconds, EvalSeconds = outcome.EvalSeconds, ModelLoadSeconds = outcome.ModelLoadSeconds },
            Ran = outcome.Ran,
        };
    }

    private async Task<TaskWorkState> UploadAdapterAsync(RoundTask task, TaskWorkFolder folder, TaskWorkState state, CancellationToken ct)
    {
        status.Update(s => s with { Activity = AgentActivity.Uploading });
        var watch = Stopwatch.StartNew();
        var uploaded = await StorageRetry.RunAsync(async c =>
        {
            await using var file = File.OpenRead(folder.TrainedAdapterFile);
            return await store.UploadContentAddressedAsync(file,
                sha => new BlobRef(task.Container, BlobLayout.UpdateAdapterName(task.UpdateFolder, sha)), c).ConfigureAwait(false);
        }, options.Upload, logger, "Uploading the trained adapter", ct).ConfigureAwait(false);

        if (uploaded.Sha256 != state.TrainedAdapterSha256)
        {
            throw new InvalidOperationException(
                $"The trained adapter file changed on disk (SHA-256 {uploaded.Sha256}, expected {state.TrainedAdapterSha256}); the work folder was modified.");
        }

        LogAdapterUploaded(logger, uploaded.Blob, uploaded.Bytes);
        var next = state with
        {
            Phase = TaskPhase.AdapterUploaded,
            UploadedAdapter = uploaded,
            Timings = state.Timings with
            {
                UploadSeconds = watch.Elapsed.TotalSeconds,
                BusySeconds = (time.GetUtcNow() - state.SeenUtc).TotalSeconds,
            },
        };
        return next;
    }

    private async Task<TaskWorkState> UploadManifestAsync(RoundTask task, TaskWorkState state, CancellationToken ct)
    {
        status.Update(s => s with { Activity = AgentActivity.Uploading });
        var manifest = new UpdateManifest
        {
            RunId = task.RunId,
            Round = task.Round,
            Attempt = task.Attempt,
            HospitalId = _hospitalId,
            Adapter = state.UploadedAdapter ?? throw new InvalidOperationException("The adapter upload was not recorded."),
            BaseGlobalSha256 = task.GlobalAdapter.Sha256,
            ExampleCount = state.ExampleCount,
            Metrics = state.Metrics ?? new UpdateMetrics(),
            Timings = state.Timings,
            Ran = state.Ran,
            AgentVersion = AgentVersion.Current,
            CompletedUtc = time.GetUtcNow(),
        };
        var blob = new BlobRef(task.Container, task.ManifestBlob);
        bool created = await StorageRetry.RunAsync(c => store.TryCreateJsonAsync(blob, manifest, c), options.Upload, logger,
            "Writing the update manifest", ct).ConfigureAwait(false);
        LogManifest(logger, blob, created ? "written" : "already present (an earlier attempt wrote it)");
        return state with { Phase = TaskPhase.Completed };
    }

    private async Task WriteMarkerAsync(BlobRef blob, string runId, int round, int attempt, TaskFailedException failure, CancellationToken ct)
    {
        LogTaskFailed(logger, runId, round, failure.ReasonCode, failure.Message, failure.LocalDetail ?? "");
        var marker = new FailedTaskMarker
        {
            RunId = runId,
            Round = round,
            Attempt = attempt,
            HospitalId = _hospitalId,
            ReasonCode = failure.ReasonCode,
            Message = failure.Message,
            AgentVersion = AgentVersion.Current,
            WrittenUtc = time.GetUtcNow(),
        };
        await StorageRetry.RunAsync(c => store.TryCreateJsonAsync(blob, marker, c), options.Upload, logger, "Writing the failed-task marker", ct)
            .ConfigureAwait(false);
        status.Update(s => s with { LastError = $"{failure.ReasonCode}: {failure.Message}" });
    }

    /// <summary>Forwards training progress to the status board and the crash-test pause point.</summary>
    private sealed class Progress(AgentStatusBoard board, FaultInjection faults, int round, CancellationToken ct) : IRoundTrainingProgress
    {
        public void StepCompleted(int step, int maxSteps, double loss) =>
            board.Update(s => s with { Activity = AgentActivity.Training, Step = step, MaxSteps = maxSteps, LastLoss = loss });

        public void CheckpointSaved(int step) => faults.PauseIfArmed(FaultPoint.Training, round, ct);

        public void EvaluationStarted() => board.Update(s => s with { Activity = AgentActivity.Evaluating });
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Task {TaskBlob} is leased by another agent instance; leaving it")]
    private static partial void LogBusy(ILogger logger, BlobRef taskBlob);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Task {TaskBlob} interrupted ({Why}); its work folder keeps the progress")]
    private static partial void LogInterrupted(ILogger logger, BlobRef taskBlob, string why);

    [LoggerMessage(Level = LogLevel.Information, Message = "Took task run {RunId} round {Round} attempt {Attempt} (local phase {Phase})")]
    private static partial void LogTaskTaken(ILogger logger, string runId, int round, int attempt, TaskPhase phase);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Skipping run {RunId} round {Round}: its deadline {DeadlineUtc:O} has passed (local phase {Phase}); nothing uploaded")]
    private static partial void LogDeadlinePassed(ILogger logger, string runId, int round, DateTimeOffset deadlineUtc, TaskPhase phase);

    [LoggerMessage(Level = LogLevel.Information, Message = "Downloaded the global adapter {Blob} ({Bytes} bytes, SHA-256 {Sha256} verified)")]
    private static partial void LogDownloaded(ILogger logger, BlobRef blob, long bytes, string sha256);

    [LoggerMessage(Level = LogLevel.Error, Message = "Training run {RunId} round {Round} failed")]
    private static partial void LogTrainingError(ILogger logger, Exception exception, string runId, int round);

    [LoggerMessage(Level = LogLevel.Information, Message = "Uploaded the adapter {Blob} ({Bytes} bytes)")]
    private static partial void LogAdapterUploaded(ILogger logger, BlobRef blob, long bytes);

    [LoggerMessage(Level = LogLevel.Information, Message = "Manifest {Blob} {What}")]
    private static partial void LogManifest(ILogger logger, BlobRef blob, string what);

    /// <param name="recordPrivacy">With record-level DP, ", record-level DP ε … at δ … spent so far"; else empty.</param>
    [LoggerMessage(Level = LogLevel.Information, Message = "Completed run {RunId} round {Round}: {Examples} training examples, train loss {TrainLoss}, held-out NLL {HeldOutNll}{RecordPrivacy}")]
    private static partial void LogCompleted(ILogger logger, string runId, int round, long examples, double? trainLoss, double? heldOutNll, string recordPrivacy);

    [LoggerMessage(Level = LogLevel.Error, Message = "Run {RunId} round {Round} failed ({ReasonCode}): {Message} {LocalDetail}")]
    private static partial void LogTaskFailed(ILogger logger, string runId, int round, string reasonCode, string message, string localDetail);
}
