using System.Collections.Concurrent;
using System.Diagnostics;
using FedTune.TestSupport;

namespace FedTune.ClientAgent.Tests.Support;

/// <summary>
/// The agent as a separate OS process (<c>dotnet FedTune.ClientAgent.dll ARGS</c>), exactly as a service runs it, with
/// its output captured, so tests can kill it with a real SIGKILL at any point and start it again.
/// </summary>
public sealed class AgentProcess : IDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();

    private AgentProcess(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) => { if (e.Data != null) _lines.Enqueue(e.Data); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data != null) _lines.Enqueue(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public int Id => _process.Id;

    public string Output => string.Join(Environment.NewLine, _lines);

    /// <summary>The agent executable built next to the tests' configuration (Debug or Release).</summary>
    public static string AgentDll
    {
        get
        {
            var configuration = new DirectoryInfo(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)).Parent!.Name;
            var dll = Path.Combine(TestPaths.RepositoryRoot, "src", "ClientAgent", "bin", configuration, "net10.0", "FedTune.ClientAgent.dll");
            return File.Exists(dll) ? dll : throw new FileNotFoundException($"The agent is not built at {dll}.", dll);
        }
    }

    public static AgentProcess Start(IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(AgentDll);
        foreach (var arg in args) info.ArgumentList.Add(arg);
        info.Environment["DOTNET_ENVIRONMENT"] = "Production";
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) info.Environment[k] = v;
        return new AgentProcess(Process.Start(info) ?? throw new InvalidOperationException("dotnet did not start."));
    }

    public async Task WaitForOutputAsync(string text, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!_lines.Any(l => l.Contains(text, StringComparison.Ordinal)))
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"The agent exited ({_process.ExitCode}) before printing '{text}':\n{Output}");
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"The agent did not print '{text}' within {timeout}:\n{Output}");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>kill -9: the process gets no chance to clean up, release its lease or flush anything.</summary>
    public async Task KillHardAsync()
    {
        using (var kill = Process.Start("kill", ["-9", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
            Assert.Equal(0, kill.ExitCode);
        }

        await _process.WaitForExitAsync();
        Assert.Equal(137, _process.ExitCode);
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"The agent did not exit within {timeout}:\n{Output}");
        }

        _process.WaitForExit(); // drains the output readers
        return _process.ExitCode;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }

        _process.Dispose();
    }
}
