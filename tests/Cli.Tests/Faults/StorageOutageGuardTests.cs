using System.Net.Sockets;
using FedTune.Cli.Simulation;
using FedTune.Core.Storage;
using Xunit;

namespace FedTune.Cli.Tests.Faults;

public sealed class StorageOutageGuardTests : IDisposable
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "fedtune-outage-guard-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        try { Directory.Delete(_data, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public async Task A_killed_private_Azurite_is_started_again_on_its_ports_without_waiting_for_a_storage_call_to_fail()
    {
        using var azurite = await AzuriteProcess.StartAsync(_data);
        var said = new List<string>();
        var guard = new StorageOutageGuard(azurite, TimeSpan.FromMinutes(1), line => { lock (said) said.Add(line); });
        using var stop = new CancellationTokenSource();
        var watch = guard.WatchAzuriteAsync(TimeSpan.FromMilliseconds(200), stop.Token);
        // simulate's storage calls ask the same question while the watcher restarts it: asking must never throw (a
        // disposed Process did: "No process is associated with this object", which failed a CI run at its end).
        var failures = new List<Exception>();
        var asking = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try { _ = azurite.HasExited; }
                catch (Exception e) { lock (failures) failures.Add(e); }
                await Task.Delay(5);
            }
        });

        RunProcesses.Signal(RunProcesses.Find(_data).Single(p => p.Name == "node").Pid, "KILL");

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (guard.Restarts == 0 && DateTime.UtcNow < deadline) await Task.Delay(100);
        Assert.Equal(1, guard.Restarts);
        Assert.Contains(said, l => l.Contains("starting it again on the same data folder", StringComparison.Ordinal));
        using (var client = new TcpClient()) await client.ConnectAsync("127.0.0.1", azurite.BlobPort);

        await stop.CancelAsync();
        await watch;
        await asking;
        Assert.Empty(failures);
        Assert.DoesNotContain(said, l => l.Contains("stopped watching", StringComparison.Ordinal));
        Assert.Equal(1, guard.Restarts);
        Assert.False(azurite.HasExited);
    }
}
