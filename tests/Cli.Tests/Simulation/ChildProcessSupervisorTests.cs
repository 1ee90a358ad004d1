using FedTune.Cli.Simulation;
using Xunit;

namespace FedTune.Cli.Tests.Simulation;

public sealed class ChildProcessSupervisorTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "fedtune-sup-" + Guid.NewGuid().ToString("N"));

    public ChildProcessSupervisorTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Disposing_the_supervisor_stops_children_gracefully_with_sigterm()
    {
        var marker = Path.Combine(_dir, "terminated");
        var supervisor = new ChildProcessSupervisor(TimeSpan.FromSeconds(10));
        // The child records that it received SIGTERM (a graceful stop), then exits.
        var child = supervisor.Start("sleeper", "bash", ["-c", $"trap 'echo term > {marker}; exit 0' TERM; echo ready; while true; do sleep 0.2; done"],
            Path.Combine(_dir, "sleeper.log"));
        await WaitForAsync(() => File.Exists(child.LogPath) && File.ReadAllText(child.LogPath).Contains("ready", StringComparison.Ordinal));
        int watcherPid = child.Id;

        await supervisor.DisposeAsync();

        Assert.True(File.Exists(marker), "the child did not get SIGTERM");
        Assert.False(ProcessExists(watcherPid));
        Assert.DoesNotContain(ChildrenOf(Environment.ProcessId), p => CommandLine(p).Contains(marker, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_child_that_ignores_sigterm_is_killed_after_the_grace_period()
    {
        var supervisor = new ChildProcessSupervisor(TimeSpan.FromSeconds(2));
        var child = supervisor.Start("stubborn", "bash", ["-c", "trap '' TERM; echo ready; while true; do sleep 0.2; done"], Path.Combine(_dir, "s.log"));
        await WaitForAsync(() => File.ReadAllText(child.LogPath).Contains("ready", StringComparison.Ordinal));
        var descendants = Descendants(child.Id);
        Assert.NotEmpty(descendants);

        await supervisor.DisposeAsync();

        Assert.False(ProcessExists(child.Id));
        Assert.All(descendants, pid => Assert.False(ProcessExists(pid), $"process {pid} survived"));
    }

    [Fact]
    public async Task The_watcher_stops_the_child_when_its_owner_dies()
    {
        // The owner is a short-lived process standing in for a fedtune that is killed; when it is gone the child must stop.
        using var owner = System.Diagnostics.Process.Start("sleep", "2")!;
        var marker = Path.Combine(_dir, "child-running");
        var supervisor = new ChildProcessSupervisor(TimeSpan.FromSeconds(2), ownerPid: owner.Id);
        var child = supervisor.Start("orphan-candidate", "bash", ["-c", $"touch {marker}; while true; do sleep 0.2; done"], Path.Combine(_dir, "o.log"));
        await WaitForAsync(() => File.Exists(marker));

        await owner.WaitForExitAsync();
        await WaitForAsync(() => child.HasExited, TimeSpan.FromSeconds(15));

        Assert.True(child.HasExited);
        await supervisor.DisposeAsync();
    }

    [Fact]
    public async Task Killing_the_watcher_stops_the_child_and_everything_it_started_so_nothing_is_orphaned()
    {
        // A child with a grandchild, the shape of an agent: kill -9 of the watcher must not leave either running (re-parented to init).
        var marker = Path.Combine(_dir, "grandchild-" + Guid.NewGuid().ToString("N"));
        var supervisor = new ChildProcessSupervisor(TimeSpan.FromSeconds(2));
        var child = supervisor.Start("parent-of-grandchild", "bash", ["-c", $"bash -c 'touch {marker}; while true; do sleep 0.2; done' & echo ready; wait"],
            Path.Combine(_dir, "g.log"));
        await WaitForAsync(() => File.Exists(marker));
        var descendants = Descendants(child.Id);
        Assert.True(descendants.Count >= 2, "the child and its grandchild should be running");
        Assert.Equal(child.Id, child.GroupId);

        using (var kill = System.Diagnostics.Process.Start("kill", ["-KILL", child.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])) kill!.WaitForExit(5000);

        await WaitForAsync(() => descendants.All(pid => !ProcessExists(pid)), TimeSpan.FromSeconds(20));
        await supervisor.DisposeAsync();
    }

    [Fact]
    public async Task Output_goes_to_the_log_file_and_the_tail()
    {
        await using var supervisor = new ChildProcessSupervisor();
        var child = supervisor.Start("echo", "bash", ["-c", "echo one; echo two >&2"], Path.Combine(_dir, "e.log"));
        await child.Process.WaitForExitAsync();
        await WaitForAsync(() => child.Tail().Contains("two", StringComparison.Ordinal));
        var log = await File.ReadAllTextAsync(child.LogPath);
        Assert.Contains("one", log, StringComparison.Ordinal);
        Assert.Contains("two", log, StringComparison.Ordinal);
    }

    internal static bool ProcessExists(int pid) =>
        File.Exists($"/proc/{pid}/stat") && !File.ReadAllText($"/proc/{pid}/stat").Contains(") Z ", StringComparison.Ordinal);

    internal static string CommandLine(int pid)
    {
        try { return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' '); }
        catch (IOException) { return ""; }
        catch (UnauthorizedAccessException) { return ""; }
    }

    internal static IEnumerable<int> ChildrenOf(int pid) => Descendants(pid);

    internal static List<int> Descendants(int root)
    {
        var parents = new Dictionary<int, int>();
        foreach (var dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var after = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                parents[pid] = int.Parse(after[1], System.Globalization.CultureInfo.InvariantCulture);
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        var result = new List<int>();
        var frontier = new Queue<int>([root]);
        while (frontier.Count > 0)
        {
            var p = frontier.Dequeue();
            foreach (var (child, parent) in parents)
            {
                if (parent == p) { result.Add(child); frontier.Enqueue(child); }
            }
        }
        return result;
    }

    internal static async Task WaitForAsync(Func<bool> condition, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("condition not met in time");
            await Task.Delay(100);
        }
    }
}
