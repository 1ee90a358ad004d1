using FedTune.ClientAgent.Configuration;
using Microsoft.Extensions.Logging;

namespace FedTune.ClientAgent.Execution;

/// <summary>
/// Parks the agent at a configured point (<see cref="FaultInjectionOptions.PauseAt"/>), optionally only in one round
/// (<see cref="FaultInjectionOptions.Round"/>), until it is stopped or killed, or for a set time
/// (<see cref="FaultInjectionOptions.PauseFor"/>), so crash tests can kill -9 it at an exact place or hold a round open
/// while they take storage away. Logs a line the test waits for. Inert unless configured.
/// </summary>
public sealed partial class FaultInjection(FaultInjectionOptions options, ILogger logger)
{
    public const string PausedLogText = "FAULT-INJECTION paused at";

    public bool IsArmed(FaultPoint point, int round) =>
        point != FaultPoint.None && options.PauseAt == point && (options.Round == 0 || options.Round == round);

    /// <summary>Blocks the calling thread at <paramref name="point"/> when armed, until cancelled or the pause ends.</summary>
    public void PauseIfArmed(FaultPoint point, int round, CancellationToken cancellationToken)
    {
        if (!IsArmed(point, round)) return;
        LogPaused(logger, point, round);
        if (options.PauseFor > TimeSpan.Zero) cancellationToken.WaitHandle.WaitOne(options.PauseFor);
        else cancellationToken.WaitHandle.WaitOne();
        cancellationToken.ThrowIfCancellationRequested();
    }

    public async Task PauseIfArmedAsync(FaultPoint point, int round, CancellationToken cancellationToken)
    {
        if (!IsArmed(point, round)) return;
        LogPaused(logger, point, round);
        await Task.Delay(options.PauseFor > TimeSpan.Zero ? options.PauseFor : Timeout.InfiniteTimeSpan, cancellationToken).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = PausedLogText + " {Point} in round {Round} (crash-test setting FaultInjection:PauseAt)")]
    private static partial void LogPaused(ILogger logger, FaultPoint point, int round);
}
