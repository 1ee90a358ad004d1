using System.Globalization;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace FedTune.ClientAgent.Hosting;

/// <summary>
/// Stops the agent when the process that supervises it is gone, so an agent can never be orphaned: a launcher (fedtune
/// simulate's watcher) sets <see cref="PidVariable"/> to its own pid; when this process's parent is no longer that pid
/// (the supervisor was killed and the agent re-parented), the agent stops gracefully, keeping its task state for the
/// next start. Inert when the variable is not set (a service or `fedtune agent` run by hand).
/// </summary>
public sealed partial class SupervisorWatch(IHostApplicationLifetime lifetime, ILogger<SupervisorWatch> logger) : BackgroundService
{
    /// <summary>The environment variable holding the supervisor's pid.</summary>
    public const string PidVariable = "FEDTUNE_SUPERVISOR_PID";

    private static readonly TimeSpan CheckInterval = TimeSpan.FromSeconds(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!int.TryParse(Environment.GetEnvironmentVariable(PidVariable), NumberStyles.Integer, CultureInfo.InvariantCulture, out var supervisor) ||
            ParentPid() is null)
        {
            return;
        }
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                if (ParentPid() is { } parent && parent != supervisor)
                {
                    LogSupervisorGone(logger, supervisor);
                    lifetime.StopApplication();
                    return;
                }
                await Task.Delay(CheckInterval, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>This process's parent pid (Linux /proc), or null where it cannot be read.</summary>
    internal static int? ParentPid()
    {
        try
        {
            var stat = File.ReadAllText("/proc/self/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return int.Parse(fields[1], CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or ArgumentOutOfRangeException)
        {
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The agent's supervisor (pid {SupervisorPid}) is gone; stopping so no orphaned agent keeps the work folder (task state is kept for the next start)")]
    private static partial void LogSupervisorGone(ILogger logger, int supervisorPid);
}
