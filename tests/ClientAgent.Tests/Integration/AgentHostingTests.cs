using System.Diagnostics;
using FedTune.ClientAgent.Tests.Support;
using FedTune.TestSupport;
using FedTune.Training.Runtime;

namespace FedTune.ClientAgent.Tests.Integration;

/// <summary>The agent executable as a service manager sees it: exit codes, SIGTERM, settings precedence.</summary>
[Collection(AzuriteTestGroup.Name)]
public sealed class AgentHostingTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task Invalid_settings_exit_with_code_2_and_list_every_problem()
    {
        using var agent = AgentProcess.Start(["--HospitalId", "Not Valid", "--Storage:Mode", "Sas"]);
        Assert.Equal(2, await agent.WaitForExitAsync(TimeSpan.FromMinutes(1)));
        Assert.Contains("HospitalId 'Not Valid' cannot name a storage container", agent.Output, StringComparison.Ordinal);
        Assert.Contains("Storage:SasToken is empty", agent.Output, StringComparison.Ordinal);
        Assert.Contains("Data:Paths is empty", agent.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sigterm_stops_an_idle_agent_gracefully_and_quickly()
    {
        using var bed = new AgentTestBed(azurite);
        using var agent = AgentProcess.Start(AgentTestBed.CommandLine(bed.Options()));
        await agent.WaitForOutputAsync("watching container", TimeSpan.FromMinutes(1));
        // The agent process fixes glibc's mmap threshold at start (NativeHeap), so libtorch's large blocks are given back.
        Assert.Contains("native heap: glibc mmap threshold fixed at 4 MiB", agent.Output, StringComparison.Ordinal);
        // ... and lets MKL use its AVX-512 kernels on an AMD CPU that has them, before its first matmul (MklCpuDispatch).
        Assert.Contains(MklCpuDispatch.NotApplicable() ?? "MKL: AVX-512 kernels on this AMD CPU", agent.Output, StringComparison.Ordinal);

        var watch = Stopwatch.StartNew();
        using (var term = Process.Start("kill", ["-TERM", agent.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await term.WaitForExitAsync();
        }

        Assert.Equal(0, await agent.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(15), $"stopping took {watch.Elapsed}");
        Assert.Contains("Agent stopped", agent.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Environment_variables_override_the_settings_file_and_the_command_line_overrides_both()
    {
        using var dir = new TempDirectory();
        var settings = dir.File("agent.json");
        await File.WriteAllTextAsync(settings, """{ "HospitalId": "from-file", "Storage": { "Mode": "Sas" } }""");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(AgentProcess.AgentDll);
        info.ArgumentList.Add("--settings");
        info.ArgumentList.Add(settings);
        info.ArgumentList.Add("--HospitalId");
        info.ArgumentList.Add("From CommandLine");
        info.Environment["FEDTUNE_AGENT_Storage__Mode"] = "ManagedIdentity";
        using var process = Process.Start(info)!;
        var output = await process.StandardOutput.ReadToEndAsync() + await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();

        Assert.Equal(2, process.ExitCode);
        Assert.Contains("HospitalId 'From CommandLine'", output, StringComparison.Ordinal);
        Assert.Contains("Storage:Mode is ManagedIdentity", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_agent_whose_supervisor_is_gone_stops_by_itself_instead_of_running_orphaned()
    {
        using var bed = new AgentTestBed(azurite);
        // The supervisor it was told about is not its parent: exactly what an agent sees after its watcher was killed.
        using var agent = AgentProcess.Start(AgentTestBed.CommandLine(bed.Options()),
            new Dictionary<string, string> { [FedTune.ClientAgent.Hosting.SupervisorWatch.PidVariable] = "1" });

        Assert.Equal(0, await agent.WaitForExitAsync(TimeSpan.FromMinutes(1)));
        Assert.Contains("The agent's supervisor (pid 1) is gone; stopping", agent.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task While_storage_is_down_the_agent_says_so_in_one_line_per_poll_without_a_stack_trace()
    {
        using var bed = new AgentTestBed(azurite);
        var options = bed.Options();
        options.Storage.ConnectionString = FedTune.Core.Storage.AzuriteProcess.ConnectionStringFor(
            FedTune.Core.Storage.AzuriteProcess.FreeTcpPort(), FedTune.Core.Storage.AzuriteProcess.FreeTcpPort(), FedTune.Core.Storage.AzuriteProcess.FreeTcpPort());
        using var agent = AgentProcess.Start(AgentTestBed.CommandLine(options));

        await agent.WaitForOutputAsync("Storage unreachable (", TimeSpan.FromMinutes(2));

        Assert.DoesNotContain("   at ", agent.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("AggregateException", agent.Output, StringComparison.Ordinal);
    }
}
