using System.Globalization;

namespace FedTune.Cli.Tests.Faults;

/// <summary>The processes a simulation in one run folder started, found in /proc by the folder in their command lines.</summary>
internal static class RunProcesses
{
    public sealed record Entry(int Pid, string Name, string CommandLine);

    /// <summary>Every live process whose command line mentions <paramref name="runFolder"/>, except <paramref name="exclude"/>.</summary>
    public static List<Entry> Find(string runFolder, int? exclude = null)
    {
        var found = new List<Entry>();
        foreach (var dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.Integer, CultureInfo.InvariantCulture, out var pid) || pid == exclude) continue;
            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                if (stat[(stat.LastIndexOf(')') + 2)..].StartsWith('Z')) continue;
                var cmd = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
                if (!cmd.Contains(runFolder, StringComparison.Ordinal)) continue;
                found.Add(new Entry(pid, File.ReadAllText(Path.Combine(dir, "comm")).Trim(), cmd));
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return found;
    }

    /// <summary>The agent process (dotnet) of <paramref name="hospital"/>.</summary>
    public static Entry Agent(string runFolder, string hospital) =>
        Find(runFolder).Single(p => p.Name != "bash" && p.CommandLine.Contains("FedTune.ClientAgent.dll", StringComparison.Ordinal) &&
                                    p.CommandLine.Contains($"--HospitalId {hospital} ", StringComparison.Ordinal));

    /// <summary>The watcher (bash) that supervises <paramref name="hospital"/>'s agent.</summary>
    public static Entry AgentSupervisor(string runFolder, string hospital) =>
        Find(runFolder).Single(p => p.Name == "bash" && p.CommandLine.Contains($"--HospitalId {hospital} ", StringComparison.Ordinal));

    /// <summary>The Azurite emulator (node) of the run's private storage.</summary>
    public static Entry Azurite(string runFolder) =>
        Find(runFolder).Single(p => p.Name == "node");

    /// <summary>Waits (bounded) until no process of the run is left; the ones still alive after <paramref name="timeout"/>.</summary>
    public static async Task<List<Entry>> WaitUntilNoneLeftAsync(string runFolder, TimeSpan timeout, int? exclude = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var left = Find(runFolder, exclude);
            if (left.Count == 0 || DateTime.UtcNow > deadline) return left;
            await Task.Delay(250);
        }
    }

    public static void Signal(int pid, string signal)
    {
        using var kill = System.Diagnostics.Process.Start("kill", ["-" + signal, pid.ToString(CultureInfo.InvariantCulture)]);
        kill.WaitForExit(5000);
    }
}
