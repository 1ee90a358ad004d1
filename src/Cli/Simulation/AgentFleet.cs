using System.Globalization;
using FedTune.ClientAgent.Status;
using FedTune.Core.Data;

namespace FedTune.Cli.Simulation;

/// <summary>
/// The simulation's hospital agents: one real agent process per hospital (FedTune.ClientAgent, the same program a
/// hospital installs), each given only its own shard folder, a work folder and the storage connection string (through
/// the environment, never the command line). Supervised: none outlives the run.
/// </summary>
public sealed class AgentFleet : IAsyncDisposable
{
    private readonly ChildProcessSupervisor _supervisor = new(TimeSpan.FromSeconds(20));
    private readonly Dictionary<string, (SupervisedProcess Process, string WorkPath)> _agents = new(StringComparer.Ordinal);

    /// <summary>The agent program next to this one (the CLI references the agent project, so it is in the same folder).</summary>
    public static string AgentAssembly => Path.Combine(AppContext.BaseDirectory, "FedTune.ClientAgent.dll");

    /// <summary>The entry assembly's name (fedtune, or the test host when tests run the fleet).</summary>
    private static string CliAssemblyName =>
        File.Exists(Path.Combine(AppContext.BaseDirectory, "fedtune.runtimeconfig.json")) ? "fedtune"
            : System.Reflection.Assembly.GetEntryAssembly()?.GetName().Name ?? "fedtune";

    public IReadOnlyCollection<string> HospitalIds => _agents.Keys;

    public IReadOnlyList<SupervisedProcess> Processes => _supervisor.Processes;

    /// <summary>Starts one agent per shard.</summary>
    /// <summary>Agents share the CPU: each gets a fair number of intra-op threads (OMP_NUM_THREADS, MKL_NUM_THREADS).</summary>
    internal static int ThreadsPerAgent(int agents) => Math.Max(1, Environment.ProcessorCount / Math.Max(1, agents));

    public void Start(IReadOnlyList<HospitalShardFiles> shards, string connectionString, string modelFolder, string modelName, RunFolder folder)
    {
        ArgumentNullException.ThrowIfNull(shards);
        ArgumentNullException.ThrowIfNull(folder);
        if (!File.Exists(AgentAssembly))
        {
            throw new FileNotFoundException($"The agent program {AgentAssembly} is missing. Fix: rebuild (./fedtune builds it), the CLI build copies it there.", AgentAssembly);
        }
        int threads = ThreadsPerAgent(shards.Count);
        foreach (var shard in shards)
        {
            var work = folder.AgentDirectory(shard.Name);
            Directory.CreateDirectory(work);
            // The CLI's runtimeconfig and deps list everything the agent needs (the CLI references the agent project), including
            // the shared frameworks the CLI's output relies on; the agent's own files describe its standalone build instead.
            string[] args =
            [
                "exec",
                "--runtimeconfig", Path.Combine(AppContext.BaseDirectory, CliAssemblyName + ".runtimeconfig.json"),
                "--depsfile", Path.Combine(AppContext.BaseDirectory, CliAssemblyName + ".deps.json"),
                AgentAssembly,
                "--HospitalId", shard.Name,
                "--Storage:Mode", "ConnectionString",
                "--Data:Paths:0", shard.TrainPath,
                "--Data:Paths:1", shard.HeldOutPath,
                "--ModelPath", modelFolder,
                "--ModelName", modelName,
                "--WorkPath", work,
                "--Device", "Cpu",
                // A round's idle time includes the pickup delay: on one machine, looking four times a second costs nothing.
                "--Polling:MinInterval", "00:00:00.2",
                "--Polling:MaxInterval", "00:00:00.25",
            ];
            var environment = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["FEDTUNE_AGENT_Storage__ConnectionString"] = connectionString,
                ["OMP_NUM_THREADS"] = threads.ToString(CultureInfo.InvariantCulture),
                ["MKL_NUM_THREADS"] = threads.ToString(CultureInfo.InvariantCulture),
                ["DOTNET_gcServer"] = "0",
            };
            var process = _supervisor.Start("agent " + shard.Name, "dotnet", args, Path.Combine(work, "agent.log"), environment, work);
            _agents[shard.Name] = (process, work);
        }
    }

    /// <summary>Each agent's latest status (from its status.json), or null before it wrote one.</summary>
    public IReadOnlyDictionary<string, AgentStatus?> ReadStatuses() =>
        _agents.ToDictionary(a => a.Key, a => SafeRead(Path.Combine(a.Value.WorkPath, "status.json")), StringComparer.Ordinal);

    /// <summary>
    /// An agent that exited on its own (a crash, a configuration error, or its supervising watcher was killed: what was
    /// left of its process group is stopped too), with how it ended and the last line of its log.
    /// </summary>
    public (string HospitalId, int ExitCode, string How, string LastLine, string LogPath)? FindExited()
    {
        foreach (var (id, agent) in _agents)
        {
            if (agent.Process.HasExited)
            {
                int code = agent.Process.Process.ExitCode;
                string how = agent.Process.WatcherKilled ? FormattableString.Invariant($"its supervising watcher, pid {agent.Process.Id}, was killed (exit code {code}); the agent was stopped with it")
                    : code > 128 ? FormattableString.Invariant($"killed by signal {code - 128}")
                    : FormattableString.Invariant($"exit code {code}");
                var last = agent.Process.Tail().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? "none";
                return (id, code, how, last.Length > 200 ? last[..197] + "..." : last, agent.Process.LogPath);
            }
        }
        return null;
    }

    private static AgentStatus? SafeRead(string file)
    {
        try
        {
            return AgentStatusBoard.ReadFile(file);
        }
        catch (IOException)
        {
            return null;
        }
        catch (System.Text.Json.JsonException)
        {
            return null; // Being rewritten right now; the next poll reads it.
        }
    }

    public ValueTask DisposeAsync() => _supervisor.DisposeAsync();
}
