using System.Diagnostics;
using System.Text;

namespace FedTune.Cli.Simulation;

/// <summary>
/// A child process started by <see cref="ChildProcessSupervisor"/>, with its output going to a log file. The child runs
/// under a watcher that leads its own process group (<see cref="GroupId"/>): stopping or killing it signals the group,
/// so a grandchild whose parent was killed cannot be left running. When the watcher ends on its own (killed, or its
/// child exited), whatever is left of the group is stopped too.
/// </summary>
public sealed class SupervisedProcess : IDisposable
{
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(5);
    private readonly StreamWriter _log;
    private readonly object _gate = new();
    private readonly Queue<string> _tail = new();
    private readonly TimeSpan _grace;
    private Task _groupStopped = Task.CompletedTask;
    private bool _closed;

    internal SupervisedProcess(string name, Process process, string logPath, int? groupId, TimeSpan grace)
    {
        Name = name;
        Process = process;
        Id = process.Id;
        GroupId = groupId;
        LogPath = logPath;
        _grace = grace;
        _log = new StreamWriter(new FileStream(logPath, FileMode.Append, FileAccess.Write, FileShare.ReadWrite), new UTF8Encoding(false))
        {
            AutoFlush = true,
        };
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.EnableRaisingEvents = true;
        process.Exited += (_, _) => OnWatcherExited();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (process.HasExited) OnWatcherExited();
    }

    public string Name { get; }
    public Process Process { get; }
    public string LogPath { get; }
    /// <summary>The watcher's process id (kept after the process object is disposed).</summary>
    public int Id { get; }

    /// <summary>The process group the watcher leads (its pid), or null where process groups are not available.</summary>
    public int? GroupId { get; }

    /// <summary>Raised for each line the child writes (stdout or stderr).</summary>
    public event Action<SupervisedProcess, string>? LineWritten;

    /// <summary>True when the watcher has ended (the child was stopped with it, or is being stopped).</summary>
    public bool HasExited => Process.HasExited;

    /// <summary>True when the watcher ended while its child was still running (someone killed the watcher); the child was stopped.</summary>
    public bool WatcherKilled { get; private set; }

    /// <summary>True while the watcher or anything in its process group is alive.</summary>
    public bool IsRunning => !Process.HasExited || (GroupId is { } g && ProcessGroup.IsAlive(g));

    /// <summary>The last lines the child wrote, for error messages.</summary>
    public string Tail()
    {
        lock (_gate) return string.Join(Environment.NewLine, _tail);
    }

    /// <summary>Asks the child to stop (SIGTERM to its watcher, which forwards it; to the whole group when the watcher is gone).</summary>
    public void SignalTerminate()
    {
        if (!Process.HasExited)
        {
            if (!NativeSignal(Id, ProcessGroup.Terminate)) Kill();
        }
        else if (GroupId is { } g)
        {
            ProcessGroup.Signal(g, ProcessGroup.Terminate);
        }
    }

    /// <summary>Kills the child and everything it started (SIGKILL to the process group); waits a bounded time.</summary>
    public void Kill()
    {
        if (GroupId is { } g) ProcessGroup.KillNow(g);
        try
        {
            if (!Process.HasExited)
            {
                Process.Kill(entireProcessTree: true);
                Process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    /// <summary>Waits (bounded) until the output the child wrote before it ended is in the log.</summary>
    internal async Task FlushLogAsync()
    {
        if (!Process.HasExited) return;
        using var cts = new CancellationTokenSource(DrainTimeout);
        try
        {
            await Process.WaitForExitAsync(cts.Token).ConfigureAwait(false); // drains the output events
        }
        catch (OperationCanceledException)
        {
            // A process that escaped the group still holds the pipe: the log may miss its last lines, the run does not hang.
        }
    }

    private void OnWatcherExited()
    {
        // The watcher is gone (its child ended, or someone killed the watcher): stop whatever is left of its group.
        if (GroupId is { } g && ProcessGroup.IsAlive(g))
        {
            WatcherKilled = true;
            _groupStopped = ProcessGroup.StopAsync(g, _grace);
        }
    }

    private static bool NativeSignal(int pid, int signal) =>
        !OperatingSystem.IsWindows() && ProcessGroup.SignalProcess(pid, signal);

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_gate)
        {
            if (_closed) return;
            _log.WriteLine(line);
            _tail.Enqueue(line);
            while (_tail.Count > 30) _tail.Dequeue();
        }
        LineWritten?.Invoke(this, line);
    }

    public void Dispose()
    {
        Kill();
        _groupStopped.Wait(_grace + TimeSpan.FromSeconds(5));
        lock (_gate)
        {
            _closed = true;
            _log.Dispose();
        }
        Process.Dispose();
    }
}
