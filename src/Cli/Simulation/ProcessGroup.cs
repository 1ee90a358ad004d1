using System.Runtime.InteropServices;

namespace FedTune.Cli.Simulation;

/// <summary>
/// Signals a whole POSIX process group (a supervised child and everything it started, even a grandchild whose
/// parent was killed), so nothing a run started can be left behind. A no-op on Windows.
/// </summary>
internal static partial class ProcessGroup
{
    public const int Terminate = 15;
    public const int Kill = 9;

    /// <summary>Sends <paramref name="signal"/> to every process of group <paramref name="groupId"/>; false when none is left.</summary>
    public static bool Signal(int groupId, int signal) =>
        !OperatingSystem.IsWindows() && groupId > 1 && NativeMethods.kill(-groupId, signal) == 0;

    /// <summary>Sends <paramref name="signal"/> to the single process <paramref name="pid"/>; false when it is gone.</summary>
    public static bool SignalProcess(int pid, int signal) =>
        !OperatingSystem.IsWindows() && pid > 1 && NativeMethods.kill(pid, signal) == 0;

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

    private static partial class NativeMethods
    {
        [DllImport("libc", SetLastError = true)]
#pragma warning disable CA5392, SYSLIB1054 // libc is the system library; kill(2) takes two ints, nothing to marshal.
        internal static extern int kill(int pid, int sig);
#pragma warning restore CA5392, SYSLIB1054
    }
}
