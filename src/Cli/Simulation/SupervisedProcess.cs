using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace FedTune.Cli.Simulation;

/// <summary>A child process started by <see cref="ChildProcessSupervisor"/>, with its output going to a log file.</summary>
public sealed class SupervisedProcess : IDisposable
{
    private readonly StreamWriter _log;
    private readonly object _gate = new();
    private readonly Queue<string> _tail = new();
    private bool _closed;

    internal SupervisedProcess(string name, Process process, string logPath)
    {
        Name = name;
        Process = process;
        LogPath = logPath;
        _log = new StreamWriter(new FileStream(logPath, FileMode.Append, FileAccess.Write, FileShare.ReadWrite), new UTF8Encoding(false))
        {
            AutoFlush = true,
        };
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string Name { get; }
    public Process Process { get; }
    public string LogPath { get; }
    public int Id => Process.Id;

    /// <summary>Raised for each line the child writes (stdout or stderr).</summary>
    public event Action<SupervisedProcess, string>? LineWritten;

    public bool HasExited => Process.HasExited;

    /// <summary>The last lines the child wrote, for error messages.</summary>
    public string Tail()
    {
        lock (_gate) return string.Join(Environment.NewLine, _tail);
    }

    /// <summary>Asks the child to stop (SIGTERM to its watcher, which forwards it).</summary>
    public void SignalTerminate()
    {
        if (Process.HasExited) return;
        try
        {
            using var kill = Process.Start(new ProcessStartInfo("kill", ["-TERM", Id.ToString(CultureInfo.InvariantCulture)]) { UseShellExecute = false });
            kill?.WaitForExit(5000);
        }
        catch (System.ComponentModel.Win32Exception)
        {
            Kill();
        }
    }

    /// <summary>Kills the child and everything it started.</summary>
    public void Kill()
    {
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

    internal async Task FlushLogAsync()
    {
        if (Process.HasExited) await Process.WaitForExitAsync().ConfigureAwait(false); // drains the output events
    }

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
        lock (_gate)
        {
            _closed = true;
            _log.Dispose();
        }
        Process.Dispose();
    }
}
