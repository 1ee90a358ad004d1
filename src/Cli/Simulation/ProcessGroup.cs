using FedTune.Core.Processes;

namespace FedTune.Cli.Simulation;

/// <summary>
/// Signals a whole POSIX process group (a supervised child and everything it started, even a grandchild whose
/// parent was killed), so nothing a run started can be left behind. A no-op on Windows.
/// </summary>
internal static class ProcessGroup
{
    public const int Terminate = PosixSignal.Terminate;
    public const int Kill = PosixSignal.Kill;

    /// <summary>Sends <paramref name="signal"/> to every process of group <paramref name="groupId"/>; false when none is left.</summary>
    public static bool Signal(int groupId, int signal) =>
        groupId > 1 && PosixSignal.Send(-groupId, signal);

    /// <summary>Sends <paramref name="signal"/> to the single process <paramref name="pid"/>; false when it is gone.</summary>
    public static bool SignalProcess(int pid, int signal) =>
        pid > 1 && PosixSignal.Send(pid, signal);

    /// <summary>True while any process of the group is alive (zombies aside).</summary>
    public static bool IsAlive(int groupId) => Signal(groupId, 0);

    /// <summary>The process group of <paramref name="pid"/> (from /proc), or null when it is gone or unknown.</summary>
    public static int? Of(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return int.Parse(fields[2], System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or ArgumentOutOfRangeException)
        {
            return null;
        }
    }

    /// <summary>SIGTERM to the group, up to <paramref name="grace"/> for it to stop, then SIGKILL; bounded.</summary>
    public static async Task StopAsync(int groupId, TimeSpan grace)
    {
        if (!Signal(groupId, Terminate)) return;
        var deadline = DateTime.UtcNow + grace;
        while (DateTime.UtcNow < deadline && IsAlive(groupId)) await Task.Delay(100).ConfigureAwait(false);
        KillNow(groupId);
    }

    /// <summary>SIGKILL to the group and a short bounded wait until it is gone.</summary>
    public static void KillNow(int groupId)
    {
        if (!Signal(groupId, Kill)) return;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (DateTime.UtcNow < deadline && IsAlive(groupId)) Thread.Sleep(50);
    }
}
