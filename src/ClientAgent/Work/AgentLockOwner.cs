using System.Globalization;

namespace FedTune.ClientAgent.Work;

/// <summary>
/// Who holds a work folder's lock: the holder writes its pid next to the lock (agent.pid), and a second agent that
/// finds the folder locked explains which process holds it, whether that process is orphaned (its supervisor is gone),
/// and how to stop it, instead of a bare "in use".
/// </summary>
public static class AgentLockOwner
{
    public const string FileName = "agent.pid";

    /// <summary>Records this process as the lock holder.</summary>
    public static void Record(string workPath) =>
        TaskWorkFolder.WriteAtomic(Path.Combine(workPath, FileName),
            System.Text.Encoding.ASCII.GetBytes(Environment.ProcessId.ToString(CultureInfo.InvariantCulture)));

    /// <summary>The error for a work folder whose lock another process holds: its pid, its state and how to stop it.</summary>
    public static string DescribeHolder(string workPath)
    {
        var lockFile = Path.Combine(workPath, "agent.lock");
        int? pid = ReadPid(workPath);
        if (pid is not { } p || !File.Exists($"/proc/{p}/stat"))
        {
            return $"The work folder '{workPath}' is in use by another agent process. " +
                   $"Fix: give each agent instance its own WorkPath, or stop the other one (`fuser -v {lockFile}` shows its pid).";
        }
        int? parent = ParentOf(p);
        string orphaned = parent == 1 ? ", orphaned: the process that started it is gone" : "";
        return $"The work folder '{workPath}' is in use by agent process {p}{orphaned} ({CommandLine(p)}). " +
               $"Fix: stop it with `kill {p}` (it stops gracefully and keeps its task state; `kill -9 {p}` if it does not), " +
               "or give this agent its own WorkPath.";
    }

    private static int? ReadPid(string workPath)
    {
        try
        {
            return int.TryParse(File.ReadAllText(Path.Combine(workPath, FileName)).Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var pid)
                ? pid : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static int? ParentOf(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1], CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or ArgumentOutOfRangeException)
        {
            return null;
        }
    }

    private static string CommandLine(int pid)
    {
        try
        {
            var text = File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ').Trim();
            return text.Length > 120 ? text[..117] + "..." : text;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "command line unreadable";
        }
    }
}
