using System.Net;
using System.Net.Sockets;
using FedTune.Cli.Commands;
using FedTune.TestSupport;
using Xunit;
using Xunit.Abstractions;

namespace FedTune.Cli.Tests.Faults;

/// <summary>Bad input to `fedtune orchestrator` and `fedtune agent` is refused in one or two lines naming the fix, never a stack trace.</summary>
public sealed class CommandErrorTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDirectory _dir = new("fedtune-command-errors");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task The_orchestrator_on_a_busy_port_says_so_in_one_line_with_the_fix()
    {
        using var busy = new TcpListener(IPAddress.Loopback, 0);
        busy.Start();
        int port = ((IPEndPoint)busy.LocalEndpoint).Port;

        using var cli = SimulateProcess.StartCommand("orchestrator", ["--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--storage", "UseDevelopmentStorage=true"],
            new Dictionary<string, string>(), output.WriteLine);
        var code = await cli.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(1, code);
        var lines = cli.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.Contains($"port {port} on 127.0.0.1 is already in use", lines[0], StringComparison.Ordinal);
        Assert.Contains("Fix:", lines[0], StringComparison.Ordinal);
    }

    [Fact]
    public void The_agent_uses_the_settings_files_work_folder_and_adds_the_default_only_without_one()
    {
        var work = _dir.File("hospital-work");
        var settings = _dir.File("agent.json");
        File.WriteAllText(settings, $$"""{ "HospitalId": "st-marys", "WorkPath": "{{work}}" }""");

        var merge = new AgentFlagMerge(settings);
        merge.Flag("--hospital-id", "HospitalId", "st-marys");
        merge.Default("WorkPath", Path.GetFullPath("fedtune-agent-work"));

        Assert.DoesNotContain("--WorkPath", merge.Arguments);
        Assert.DoesNotContain("--HospitalId", merge.Arguments);
        Assert.Equal(["--settings", settings], merge.Arguments);

        var noFile = new AgentFlagMerge(null);
        noFile.Default("WorkPath", "/tmp/default-work");
        Assert.Equal(["--WorkPath", "/tmp/default-work"], noFile.Arguments);
    }

    [Fact]
    public async Task A_flag_that_contradicts_the_settings_file_is_refused_naming_both()
    {
        var settings = _dir.File("agent.json");
        File.WriteAllText(settings, $$"""{ "HospitalId": "st-marys", "WorkPath": "{{_dir.File("file-work")}}" }""");

        using var cli = SimulateProcess.StartCommand("agent", ["--settings", settings, "--work", _dir.File("flag-work")], new Dictionary<string, string>(), output.WriteLine);
        var code = await cli.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(2, code);
        var line = Assert.Single(cli.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("--work", line, StringComparison.Ordinal);
        Assert.Contains("conflicts with WorkPath", line, StringComparison.Ordinal);
        Assert.Contains("Fix: remove one of them", line, StringComparison.Ordinal);
    }
}
