using System.Runtime.InteropServices;

namespace FedTune.Cli.Simulation;

/// <summary>
/// A cancellation token that fires on Ctrl+C (SIGINT), SIGTERM or SIGHUP, or when the command's own token does.
/// Needed because the hosts started in-process (ASP.NET Core's console lifetime) take those signals for themselves:
/// without this the command would never learn it should stop. The first signal asks for a clean stop; the default
/// action (terminate) is suppressed so the run can stop its children and save its state.
/// </summary>
public sealed class ShutdownSignals : IDisposable
{
    private readonly CancellationTokenSource _cts;
    private readonly List<PosixSignalRegistration> _registrations = [];

    public ShutdownSignals(CancellationToken commandToken)
    {
        _cts = CancellationTokenSource.CreateLinkedTokenSource(commandToken);
        foreach (var signal in new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM, PosixSignal.SIGHUP })
        {
            _registrations.Add(PosixSignalRegistration.Create(signal, context =>
            {
                context.Cancel = true;
                Signal = context.Signal;
                try
                {
                    _cts.Cancel();
                }
                catch (ObjectDisposedException)
                {
                    // Already shutting down.
                }
            }));
        }
    }

    public CancellationToken Token => _cts.Token;

    /// <summary>The signal that asked for the stop, if one did.</summary>
    public PosixSignal? Signal { get; private set; }

    public void Dispose()
    {
        foreach (var r in _registrations) r.Dispose();
        _cts.Dispose();
    }
}
