using System.Diagnostics;
using System.Text;

namespace FedTune.Cli.Tests.Faults;

/// <summary>
/// `fedtune simulate` as a real child process (the CLI assembly the tests reference, run with dotnet exec), so a test
/// can kill -9 the parent itself; every line it prints is kept and echoed to the test output.
/// </summary>
internal sealed partial class SimulateProcess : IDisposable
{
    private readonly Process _process;
    private readonly List<string> _lines = [];
    private readonly Action<string> _echo;

    private SimulateProcess(Process process, Action<string> echo)
    {
        _process = process;
        _echo = echo;
        process.OutputDataReceived += (_, e) => Add(e.Data);
        process.ErrorDataReceived += (_, e) => Add(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public string Output
    {
        get { lock (_lines) return string.Join(Environment.NewLine, _lines); }
    }

    public static SimulateProcess Start(IEnumerable<string> simulateArguments, IReadOnlyDictionary<string, string> environment, Action<string> echo) =>
        StartCommand("simulate", simulateArguments, environment, echo);

    /// <summary>Starts `fedtune COMMAND ARGS...`.</summary>
    public static SimulateProcess StartCommand(string command, IEnumerable<string> arguments, IReadOnlyDictionary<string, string> environment, Action<string> echo)
    {
        var bin = AppContext.BaseDirectory;
        var name = typeof(SimulateProcess).Assembly.GetName().Name!;
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = bin,
        };
        foreach (var a in new[] { "exec", "--runtimeconfig", Path.Combine(bin, name + ".runtimeconfig.json"), "--depsfile", Path.Combine(bin, name + ".deps.json"),
                     Path.Combine(bin, "fedtune.dll"), command })
        {
            psi.ArgumentList.Add(a);
        }
        foreach (var a in arguments) psi.ArgumentList.Add(a);
        foreach (var (k, v) in environment) psi.Environment[k] = v;
        psi.Environment["NO_COLOR"] = "1";
        return new SimulateProcess(Process.Start(psi)!, echo);
    }

    /// <summary>Waits until a line printed since <paramref name="from"/> lines satisfies <paramref name="match"/>; returns it.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match, TimeSpan timeout, int from = 0)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            lock (_lines)
            {
                for (int i = from; i < _lines.Count; i++)
                {
                    if (match(_lines[i])) return _lines[i];
                }
            }
            if (_process.HasExited) throw new InvalidOperationException($"fedtune simulate exited ({_process.ExitCode}) before the awaited line.{Environment.NewLine}{Tail()}");
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"The awaited line did not come within {timeout}.{Environment.NewLine}{Tail()}");
            await Task.Delay(100);
        }
    }

    public int LineCount
    {
        get { lock (_lines) return _lines.Count; }
    }

    /// <summary>Waits (bounded) for the process to exit; its exit code, or null when it is still running.</summary>
    public async Task<int?> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            return _process.ExitCode;
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>kill -9 of the simulate process alone (not its children: they must stop by themselves).</summary>
    public void KillParentOnly()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: false);
    }

    private string Tail()
    {
        lock (_lines) return string.Join(Environment.NewLine, _lines.TakeLast(15));
    }

    private void Add(string? line)
    {
        if (line is null) return;
        _echo(line);
        // Plain progress lines start with the elapsed time ("[01:14] round 1 of 3 started"): kept without it.
        var text = Elapsed().Replace(line, "", 1);
        lock (_lines) _lines.Add(text);
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^\[\d+(:\d+)+\] ")]
    private static partial System.Text.RegularExpressions.Regex Elapsed();

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }
        _process.Dispose();
    }
}
