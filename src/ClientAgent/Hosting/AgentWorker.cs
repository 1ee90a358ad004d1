using FedTune.ClientAgent.Configuration;
using FedTune.ClientAgent.Engine;
using FedTune.ClientAgent.Execution;
using FedTune.ClientAgent.Polling;
using FedTune.ClientAgent.Status;
using FedTune.ClientAgent.Tasks;
using FedTune.ClientAgent.Work;
using FedTune.Core.Processes;
using FedTune.Core.Protocol;
using FedTune.Training.Runtime;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FedTune.ClientAgent.Hosting;

/// <summary>
/// The agent's main loop: look for open tasks in the hospital's container, do each under its lease, then wait
/// (backoff with jitter, reset after activity) and look again, until the host stops. Between polls it lets a kept base
/// model go when it is no longer worth its memory (<see cref="BaseModelCache.Trim"/>), and on stop it always does.
/// </summary>
public sealed partial class AgentWorker(
    IOptions<AgentOptions> options,
    BlobStore store,
    IRoundTrainer trainer,
    BaseModelCache models,
    AgentStatusBoard status,
    TimeProvider time,
    IHostApplicationLifetime lifetime,
    ILoggerFactory loggers) : BackgroundService
{
    private readonly ILogger _logger = loggers.CreateLogger<AgentWorker>();
    private readonly HashSet<string> _settled = new(StringComparer.Ordinal);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        AgentWorkspace workspace;
        try
        {
            workspace = AgentWorkspace.Open(settings.WorkPath);
        }
        catch (InvalidOperationException e)
        {
            LogFatal(_logger, e.Message);
            Environment.ExitCode = 3;
            lifetime.StopApplication();
            return;
        }

        using (workspace)
        {
            status.AttachFile(workspace.StatusFile);
            var runner = new RoundTaskRunner(store, settings, workspace, trainer, status, time, loggers.CreateLogger<RoundTaskRunner>());
            var scanner = new TaskScanner(store, settings.HospitalId);
            var backoff = new PollBackoff(settings.Polling);
            int finished = 0;
            string nativeHeap = NativeHeap.Configure();
            string mkl = MklCpuDispatch.Prepare();
            LogStarted(_logger, settings.HospitalId, scanner.Container, workspace.Path, workspace.InstanceId, AgentVersion.Current, nativeHeap, mkl);
            status.Update(s => s with { Activity = AgentActivity.Idle });
            try
            {
                while (!stoppingToken.IsCancellationRequested)
                {
                    bool active = false;
                    try
                    {
                        foreach (var task in await scanner.FindOpenTasksAsync(stoppingToken).ConfigureAwait(false))
                        {
                            if (_settled.Contains(task.RoundFolder)) continue;
                            var outcome = await runner.RunAsync(task, stoppingToken).ConfigureAwait(false);
                            active |= outcome != TaskOutcome.Busy;
                            if (outcome != TaskOutcome.Busy) status.Update(s => s with { LastOutcome = outcome });
                            if (outcome is TaskOutcome.Completed or TaskOutcome.Failed or TaskOutcome.Skipped or TaskOutcome.AlreadyDone)
                            {
                                _settled.Add(task.RoundFolder);
                            }

                            if (outcome is TaskOutcome.Completed or TaskOutcome.Failed or TaskOutcome.Skipped)
                            {
                                finished++;
                                status.Update(s => outcome switch
                                {
                                    TaskOutcome.Completed => s with { TasksCompleted = s.TasksCompleted + 1 },
                                    TaskOutcome.Failed => s with { TasksFailed = s.TasksFailed + 1 },
                                    _ => s with { TasksSkipped = s.TasksSkipped + 1 },
                                });
                            }

                            if (stoppingToken.IsCancellationRequested) break;
                        }
                    }
                    catch (Exception e) when (!stoppingToken.IsCancellationRequested && IsStorageOutage(e))
                    {
                        // Storage down: one line per failed poll (no stack trace); the task's state stays in the work folder.
                        LogStorageDown(_logger, OneLine(e));
                    }
                    catch (Exception e) when (!stoppingToken.IsCancellationRequested && e is not OutOfMemoryException)
                    {
                        // Permissions, an unexpected bug in one task: log it with its details and keep polling with backoff.
                        LogPollFailed(_logger, e);
                    }

                    if (settings.ExitAfterTasks > 0 && finished >= settings.ExitAfterTasks)
                    {
                        LogExitAfterTasks(_logger, finished);
                        lifetime.StopApplication();
                        break;
                    }

                    // Between polls: a model kept from the last task is let go when idle too long or memory runs low.
                    models.Trim();
                    if (active) backoff.Reset();
                    await Task.Delay(backoff.NextDelay(), time, stoppingToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
            }
            finally
            {
                models.Clear();
                status.Update(s => s with { Activity = AgentActivity.Stopped });
                LogStopped(_logger);
            }
        }
    }

    /// <summary>True when <paramref name="e"/> (or everything it aggregates, as the SDK's "Retry failed after N tries") is a transient storage failure.</summary>
    internal static bool IsStorageOutage(Exception e) =>
        e is AggregateException a ? a.InnerExceptions.Count > 0 && a.InnerExceptions.All(IsStorageOutage) : StorageRetry.IsTransient(e);

    private static string OneLine(Exception e)
    {
        while (e is AggregateException { InnerExceptions.Count: > 0 } a) e = a.InnerExceptions[^1];
        return e.Message.Split('\n', 2)[0].Trim();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Storage unreachable ({Error}); task state is kept in the work folder, retrying after the backoff")]
    private static partial void LogStorageDown(ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Critical, Message = "The agent cannot start: {Problem}")]
    private static partial void LogFatal(ILogger logger, string problem);

    [LoggerMessage(Level = LogLevel.Information, Message = "Agent {AgentVersion} for hospital {HospitalId} watching container {Container} (work folder {WorkPath}, instance {InstanceId}; {NativeHeap}; {Mkl})")]
    private static partial void LogStarted(ILogger logger, string hospitalId, string container, string workPath, Guid instanceId, string agentVersion, string nativeHeap, string mkl);

    [LoggerMessage(Level = LogLevel.Error, Message = "Looking for or running a task failed; retrying after the backoff")]
    private static partial void LogPollFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Stopping after {Count} finished task(s) (ExitAfterTasks)")]
    private static partial void LogExitAfterTasks(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "Agent stopped")]
    private static partial void LogStopped(ILogger logger);
}
