using System.Diagnostics;
using System.Globalization;

namespace FedTune.Cli.Simulation;

/// <summary>
/// Starts the simulation's child processes (agents) and guarantees none outlives the run: each child runs under a
/// small bash watcher that leads its own process group (setsid) and stops the group when this process disappears
/// (even on kill -9). The child learns its watcher's pid (<see cref="SupervisorPidVariable"/>) and stops itself when the
/// watcher is killed; when a watcher ends, this supervisor stops what is left of its group. <see cref="DisposeAsync"/>
/// stops them all: SIGTERM first (graceful: agents release leases), then SIGKILL to each group after the grace period.
/// Every wait is bounded.
/// </summary>
public sealed class ChildProcessSupervisor : IAsyncDisposable
{
    /// <summary>The environment variable that tells a supervised child its watcher's pid (the agent stops when it changes).</summary>
    public const string SupervisorPidVariable = FedTune.ClientAgent.Hosting.SupervisorWatch.PidVariable;

    // $1 = owner pid, then the command. The watcher leads the process group. It stops the whole group when the owner is
    // gone, and forwards TERM/INT/HUP to the child. Its own stderr is silenced once the child started (bash's job notices,
    // such as "Killed", would otherwise land in the child's log as if the child wrote them).
    private const string WatcherScript =
        "owner=$1; shift; " + SupervisorPidVariable + "=$$ \"$@\" & child=$!; exec 2>/dev/null; " +
        "trap 'kill -TERM $child 2>/dev/null; wait $child 2>/dev/null; exit $?' TERM INT HUP; " +
        "while kill -0 $child 2>/dev/null; do " +
        "if ! kill -0 $owner 2>/dev/null; then trap '' TERM; kill -TERM -- -$$ 2>/dev/null; sleep 5; kill -KILL -- -$$ 2>/dev/null; exit 0; fi; " +
        "sleep 1; done; wait $child 2>/dev/null";

    private readonly List<SupervisedProcess> _processes = [];
    private readonly TimeSpan _grace;
    private readonly int _ownerPid;

    /// <param name="grace">How long a child may take to stop after SIGTERM before it is killed.</param>
    /// <param name="ownerPid">The process whose death stops the children (default: this one).</param>
    public ChildProcessSupervisor(TimeSpan? grace = null, int? ownerPid = null)
    {
        _grace = grace ?? TimeSpan.FromSeconds(15);
        _ownerPid = ownerPid ?? Environment.ProcessId;
    }

    public IReadOnlyList<SupervisedProcess> Processes
    {
        get { lock (_processes) return [.. _processes]; }
    }

    /// <summary>Starts <paramref name="fileName"/> with <paramref name="arguments"/>, its stdout and stderr appended to <paramref name="logPath"/>.</summary>
    public SupervisedProcess Start(string name, string fileName, IEnumerable<string> arguments, string logPath,
        IReadOnlyDictionary<string, string>? environment = null, string? workingDirectory = null)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        // setsid: the watcher leads a new process group (and session), so the child and all it starts can be signalled together.
        bool ownGroup = File.Exists("/usr/bin/setsid") || File.Exists("/bin/setsid");
        var psi = new ProcessStartInfo(ownGroup ? "setsid" : "bash")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            WorkingDirectory = workingDirectory ?? Directory.GetCurrentDirectory(),
        };
        if (ownGroup) psi.ArgumentList.Add("bash");
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(WatcherScript);
        psi.ArgumentList.Add("fedtune-watch");
        psi.ArgumentList.Add(_ownerPid.ToString(CultureInfo.InvariantCulture));
        psi.ArgumentList.Add(fileName);
        foreach (var a in arguments) psi.ArgumentList.Add(a);
        if (environment is not null)
        {
            foreach (var (k, v) in environment) psi.Environment[k] = v;
        }
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(logPath))!);
        var process = Process.Start(psi) ?? throw new InvalidOperationException($"Could not start {name} ({fileName}).");
        var supervised = new SupervisedProcess(name, process, logPath, ownGroup ? process.Id : null, _grace);
        lock (_processes) _processes.Add(supervised);
        return supervised;
    }

    /// <summary>Stops every child: SIGTERM, wait up to the grace period, then SIGKILL to each process group.</summary>
    public async Task StopAllAsync()
    {
        var all = Processes;
        foreach (var p in all) p.SignalTerminate();
        var deadline = DateTime.UtcNow + _grace;
        while (DateTime.UtcNow < deadline && all.Any(p => p.IsRunning)) await Task.Delay(100).ConfigureAwait(false);
        foreach (var p in all) p.Kill();
        foreach (var p in all) await p.FlushLogAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAllAsync().ConfigureAwait(false);
        foreach (var p in Processes) p.Dispose();
        lock (_processes) _processes.Clear();
    }
}
