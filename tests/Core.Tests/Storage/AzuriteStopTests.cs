using System.Text;
using Azure.Storage.Blobs;
using FedTune.Core.Storage;
using Xunit;

namespace FedTune.Core.Tests.Storage;

/// <summary>
/// Stopping the private Azurite keeps every write it acknowledged: a run's last blobs (the final round's
/// evaluation, written a moment before simulate stops storage) are there when the same data folder is served
/// again, as <c>fedtune report</c> and a resumed run do. Azurite saves its metadata only every 5 s, so a SIGKILL
/// stop would lose them.
/// </summary>
public sealed class AzuriteStopTests : IDisposable
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "fedtune-azurite-stop-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_data)) Directory.Delete(_data, recursive: true);
    }

    [Fact]
    public async Task A_blob_written_just_before_dispose_is_there_when_the_same_folder_is_served_again()
    {
        var payload = Encoding.UTF8.GetBytes("round 3 evaluation " + Guid.NewGuid());
        using (var first = await AzuriteProcess.StartAsync(_data))
        {
            var container = new BlobContainerClient(first.ConnectionString, "global");
            await container.CreateIfNotExistsAsync();
            await container.GetBlobClient("runs/r1/evaluations/round-0003.json").UploadAsync(new BinaryData(payload));
        }

        using var second = await AzuriteProcess.StartAsync(_data);
        var blob = new BlobContainerClient(second.ConnectionString, "global").GetBlobClient("runs/r1/evaluations/round-0003.json");
        Assert.True((await blob.ExistsAsync()).Value, "the blob acknowledged before the stop is gone after a restart on the same data folder");
        Assert.Equal(payload, (await blob.DownloadContentAsync()).Value.Content.ToArray());
    }

    /// <summary>
    /// When the process that started Azurite dies (a killed <c>fedtune simulate</c>), the launcher stops Azurite gracefully
    /// and nothing acknowledged is lost, although the pipe its output went to died with that process (Node dies of EPIPE
    /// when it logs its shutdown into a dead pipe, before it saves its data).
    /// </summary>
    [Fact]
    public async Task A_blob_written_just_before_the_owner_and_its_output_pipe_are_killed_survives()
    {
        int blob = AzuriteProcess.FreeTcpPort(), queue = AzuriteProcess.FreeTcpPort(), table = AzuriteProcess.FreeTcpPort();
        // The owner: a shell that runs the launcher with its output piped into a reader (as simulate reads it).
        var launcher = AzuriteProcess.LauncherPath(FedTune.TestSupport.TestPaths.RepositoryRoot);
        var psi = new System.Diagnostics.ProcessStartInfo("bash") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add($"bash '{launcher}' $$ '{_data}' {blob} {queue} {table} 2>&1 | cat");
        using var owner = System.Diagnostics.Process.Start(psi)!;
        var cs = AzuriteProcess.ConnectionStringFor(blob, queue, table);
        var container = new BlobContainerClient(cs, "global");
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try { await container.CreateIfNotExistsAsync(); break; }
            catch (Exception) when (DateTime.UtcNow < deadline) { await Task.Delay(300); }
        }
        var payload = Encoding.UTF8.GetBytes("round 2 task " + Guid.NewGuid());
        await container.GetBlobClient("round-0002/task.json").UploadAsync(new BinaryData(payload));

        var reader = ChildrenOf(owner.Id).Single(pid => File.ReadAllText($"/proc/{pid}/comm").Trim() == "cat");
        using (var kill = System.Diagnostics.Process.Start("kill", ["-KILL", owner.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), reader.ToString(System.Globalization.CultureInfo.InvariantCulture)])) kill.WaitForExit();
        var stopBy = DateTime.UtcNow.AddSeconds(30);
        while (Directory.GetDirectories("/proc").Any(d => IsAzuriteOn(d, _data)) && DateTime.UtcNow < stopBy) await Task.Delay(200);

        using var second = await AzuriteProcess.StartAsync(_data);
        var again = new BlobContainerClient(second.ConnectionString, "global").GetBlobClient("round-0002/task.json");
        Assert.True((await again.ExistsAsync()).Value, "the blob acknowledged before the owner died is gone");
    }

    private static IEnumerable<int> ChildrenOf(int pid)
    {
        foreach (var dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var child)) continue;
            string stat;
            try { stat = File.ReadAllText(Path.Combine(dir, "stat")); } catch (IOException) { continue; }
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            if (fields[1] == pid.ToString(System.Globalization.CultureInfo.InvariantCulture)) yield return child;
        }
    }

    private static bool IsAzuriteOn(string procDir, string data)
    {
        try { return File.ReadAllText(Path.Combine(procDir, "cmdline")).Contains(data, StringComparison.Ordinal); }
        catch (IOException) { return false; }
    }
}

/// <summary>
/// A crashed Azurite (kill -9) loses what it acknowledged since its last metadata save; with a short save interval, as
/// <c>fedtune simulate</c> runs it, a write a second old survives the crash and the restart on the same folder.
/// </summary>
public sealed class AzuriteCrashTests
{
    [Fact]
    public async Task With_a_short_save_interval_a_write_a_second_before_a_kill_9_survives_the_restart()
    {
        using var azurite = await AzuriteProcess.StartAsync(saveInterval: TimeSpan.FromMilliseconds(100));
        var container = new BlobContainerClient(azurite.ConnectionString, "global");
        await container.CreateIfNotExistsAsync();
        var payload = Encoding.UTF8.GetBytes("round 3 task " + Guid.NewGuid());
        await container.GetBlobClient("round-0003/task.json").UploadAsync(new BinaryData(payload));
        await Task.Delay(TimeSpan.FromSeconds(1));

        foreach (var dir in Directory.GetDirectories("/proc"))
        {
            try
            {
                if (File.ReadAllText(Path.Combine(dir, "comm")).Trim() == "node" &&
                    File.ReadAllText(Path.Combine(dir, "cmdline")).Contains(azurite.DataDirectory, StringComparison.Ordinal))
                {
                    FedTune.Core.Processes.PosixSignal.Send(int.Parse(Path.GetFileName(dir), System.Globalization.CultureInfo.InvariantCulture), FedTune.Core.Processes.PosixSignal.Kill);
                }
            }
            catch (IOException) { }
        }
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!azurite.HasExited && DateTime.UtcNow < deadline) await Task.Delay(100);
        Assert.True(azurite.HasExited, "the launcher did not end after Azurite was killed");

        await azurite.RestartAsync();
        Assert.Equal(payload, (await container.GetBlobClient("round-0003/task.json").DownloadContentAsync()).Value.Content.ToArray());
    }
}
