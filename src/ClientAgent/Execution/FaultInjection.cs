using FedTune.ClientAgent.Configuration;
using Microsoft.Extensions.Logging;

namespace FedTune.ClientAgent.Execution;

/// <summary>
/// Parks the agent at a configured point (<see cref="FaultInjectionOptions.PauseAt"/>) until it is stopped or killed,
/// so crash tests can kill -9 it at an exact place. Logs a line the test waits for. Inert unless configured.
/// </summary>
public sealed partial class FaultInjection(FaultInjectionOptions options, ILogger logger)
{
    public const string PausedLogText = "FAULT-INJECTION paused at";

    public bool IsArmed(FaultPoint point) => point != FaultPoint.None && options.PauseAt == point;

    /// <summary>Blocks the calling thread at <paramref name="point"/> when armed, until cancelled.</summary>
    public void PauseIfArmed(FaultPoint point, CancellationToken cancellationToken)
    {
        if (!IsArmed(point)) return;
        LogPaused(logger, point);
        cancellationToken.WaitHandle.WaitOne();
        cancellationToken.ThrowIfCancellationRequested();
    }

    public async Task PauseIfArmedAsync(FaultPoint point, CancellationToken cancellationToken)
    {
        if (!IsArmed(point)) return;
        LogPaused(logger, point);
        await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = PausedLogText + " {Point} (crash-test setting FaultInjection:PauseAt)")]
    private static partial void LogPaused(ILogger logger, FaultPoint point);
}
