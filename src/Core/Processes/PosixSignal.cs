using System.Runtime.InteropServices;

namespace FedTune.Core.Processes;

/// <summary>
/// kill(2) for the processes this project starts (Azurite, agents, the orchestrator host): a graceful SIGTERM
/// before any SIGKILL, to one process or a whole process group. Every call is a no-op returning false on Windows.
/// </summary>
public static partial class PosixSignal
{
    public const int Terminate = 15;
    public const int Kill = 9;

    /// <summary>Sends <paramref name="signal"/> to process <paramref name="pid"/> (a negative pid: its group); false when none is left.</summary>
    public static bool Send(int pid, int signal) =>
        !OperatingSystem.IsWindows() && Math.Abs(pid) > 1 && NativeMethods.kill(pid, signal) == 0;

    private static partial class NativeMethods
    {
        [DllImport("libc", SetLastError = true)]
#pragma warning disable CA5392, SYSLIB1054 // libc is the system library; kill(2) takes two ints, nothing to marshal.
        internal static extern int kill(int pid, int sig);
#pragma warning restore CA5392, SYSLIB1054
    }
}
