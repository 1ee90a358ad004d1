using System.Text.Json;
using FedTune.Cli.Reporting;
using FedTune.Cli.Simulation;
using FedTune.Cli.Tests.Simulation;
using Xunit;
using Xunit.Abstractions;

namespace FedTune.Cli.Tests.Faults;

/// <summary>
/// The fault-injection matrix (docs/faults.md): a real small federation (`fedtune simulate` as a child process, real
/// Azurite, the local Durable orchestrator, two real agent processes, three rounds of a tiny model) is hit by one fault
/// per attempt, at each phase, on each process: an agent killed during training, an agent's supervisor killed during
/// upload, the simulate parent (and with it the in-process orchestrator) killed during aggregation and at task pickup,
/// Azurite killed at the checkpoint and frozen (storage away) during the next round. After each fault nothing the run
/// started may be left running, a failure must say how to resume, and the next attempt (the same command) resumes. The
/// run must end bit-identical, round by round, to one uninterrupted run with the same seed.
/// </summary>
[Collection(WholeMachineTests.Name)]
public sealed class FaultMatrixTests(ITestOutputHelper output) : IDisposable
{
    private const string Config = """
        lora:
          peft_lora_r: 4
          peft_lora_alpha: 8
        train:
          seq_length: 128
          training_arguments:
            learning_rate: 0.01
            per_device_train_batch_size: 4
            max_steps: 3
            save_steps: 1
        federation:
          rounds: 3
          min_fit_clients: 2
          min_available_clients: 2
        """;

    private static readonly TimeSpan PhaseTimeout = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan NoOrphanTimeout = TimeSpan.FromSeconds(30);

    private readonly TinySimulation _simulation = new("fedtune-fault-matrix");
    private readonly List<string> _table = [];

    public void Dispose() => _simulation.Dispose();

    [Fact]
    public async Task Every_fault_of_the_matrix_leaves_no_process_behind_and_the_resumed_run_ends_bit_identical_to_an_uninterrupted_one()
    {
        var overrides = new SimulationOverrides { Hospitals = 2, EvalExamples = 4, RecordsPerHospital = 8, Seed = 7, NoCompare = true, NoAudit = true };
        var options = _simulation.Options(Config, overrides);
        var reference = await TinySimulation.RunAsync(options, output);
        Assert.True(reference.Outcome == RunOutcome.Completed, reference.FailureMessage);

        var run = Path.Combine(Path.GetDirectoryName(_simulation.RunDirectory)!, "faulted");
        try
        {
            await RunMatrixAsync(options, run);
        }
        catch
        {
            // Kept for the post-mortem (agent logs, errors.log, Azurite's data): the temp folder is deleted on dispose.
            var kept = Path.Combine(Path.GetTempPath(), "fedtune-fault-matrix-failed-" + Guid.NewGuid().ToString("N")[..8]);
            CopyFolder(run, kept);
            output.WriteLine("The faulted run's folder is kept in " + kept);
            throw;
        }
    }

    private async Task RunMatrixAsync(SimulationOptions options, string run)
    {
        string[] args =
        [
            options.ConfigPath!, "--model", options.ModelPath!, "--data", options.DataPath!, "--out", run,
            "--hospitals", "2", "--eval-examples", "4", "--records-per-hospital", "8", "--seed", "7", "--round-deadline", "00:04:00",
            "--no-compare", "--no-audit",
        ];
        var pauseAt = (string point) => new Dictionary<string, string> { ["FEDTUNE_AGENT_FaultInjection__PauseAt"] = point };

        // 1. Training: both agents parked after their first checkpoint of round 1; hospital-1's agent is killed.
        await FailedAttemptAsync(args, run, pauseAt("Training"), "training", "agent (kill -9)", async sim =>
        {
            await AgentLogAsync(run, "hospital-1", "paused at Training");
            RunProcesses.Signal(RunProcesses.Agent(run, "hospital-1").Pid, "KILL");
        }, expectInMessage: "hospital-1");

        // 2. Upload: agents parked after their adapter blob and before their manifest; hospital-2's supervising watcher is
        // killed. The agent must notice and stop (it used to be orphaned and keep its work folder locked).
        await FailedAttemptAsync(args, run, pauseAt("Upload"), "upload", "agent's supervisor (kill -9)", async sim =>
        {
            await AgentLogAsync(run, "hospital-2", "paused at Upload");
            RunProcesses.Signal(RunProcesses.AgentSupervisor(run, "hospital-2").Pid, "KILL");
        }, expectInMessage: "hospital-2");

        // 3. Task pickup: round 2's task picked up, agents parked while downloading the global adapter; the parent is killed.
        await KilledParentAttemptAsync(args, run, pauseAt("Download"), "task pickup", async sim =>
            await AgentLogAsync(run, "hospital-1", "paused at Download"));

        // 4. Aggregation: both hospitals of the round uploaded, the orchestrator (in the simulate process) aggregating: killed.
        await KilledParentAttemptAsync(args, run, [], "aggregation", async sim =>
        {
            // The agents' own "uploaded" (a live round), not the replayed round records ("uploaded loss ...") of a resumed run.
            var first = await sim.WaitForLineAsync(l => l.EndsWith(": hospital-1 uploaded", StringComparison.Ordinal), PhaseTimeout);
            var round = first[..first.IndexOf(':', StringComparison.Ordinal)];
            await sim.WaitForLineAsync(l => l == round + ": hospital-2 uploaded", PhaseTimeout);
        });

        // 5. Checkpoint: round 2's global adapter checkpointed, Azurite killed (simulate starts it again on the same data);
        // then storage taken away (Azurite frozen for 8 s) while round 3 trains. The run carries on and completes. Round 3's
        // training is held for 30 s (the agents park after their first checkpoint, then carry on): with agents that keep
        // their model, a round takes well under a second, and the run used to finish before Azurite was killed.
        var holdRoundThree = new Dictionary<string, string>
        {
            ["FEDTUNE_AGENT_FaultInjection__PauseAt"] = "Training",
            ["FEDTUNE_AGENT_FaultInjection__Round"] = "3",
            ["FEDTUNE_AGENT_FaultInjection__PauseFor"] = "00:00:30",
        };
        var start = DateTime.UtcNow;
        using (var sim = SimulateProcess.Start(args, holdRoundThree, output.WriteLine))
        {
            await sim.WaitForLineAsync(l => l.StartsWith("round 2 done", StringComparison.Ordinal), PhaseTimeout);
            // Killed once round 3's tasks are out and an agent trains on one (held there 30 s), not in the same instant
            // the orchestrator schedules round 3: simulate's private Azurite saves every 100 ms, and a kill -9 inside
            // that window loses the orchestration's last writes (an emulator-only loss, docs/faults.md), which stalled
            // one CI run of this test.
            await sim.WaitForLineAsync(l => l.StartsWith("round 3: hospital-1 training", StringComparison.Ordinal), PhaseTimeout);
            RunProcesses.Signal(RunProcesses.Azurite(run).Pid, "KILL");
            await sim.WaitForLineAsync(l => l.Contains("starting it again on the same data folder", StringComparison.Ordinal), PhaseTimeout);
            _table.Add(Row("checkpoint", "Azurite (kill -9)", "restarted on the same data folder, run carried on", start));

            // Storage away right after it came back (rounds are event-driven and short: waiting for a round-3 training
            // line raced with the round finishing).
            start = DateTime.UtcNow;
            await sim.WaitForLineAsync(l => l.StartsWith("Storage is back", StringComparison.Ordinal), PhaseTimeout);
            var azurite = RunProcesses.Azurite(run).Pid;
            RunProcesses.Signal(azurite, "STOP");
            await Task.Delay(TimeSpan.FromSeconds(8));
            RunProcesses.Signal(azurite, "CONT");
            var code = await sim.WaitForExitAsync(PhaseTimeout);
            Assert.True(code == 0, $"the last attempt ended with {code}:{Environment.NewLine}{sim.Output}");
            _table.Add(Row("after the restart", "storage away 8 s (Azurite frozen)", "waited it out, run completed", start));
        }
        Assert.Empty(await RunProcesses.WaitUntilNoneLeftAsync(run, NoOrphanTimeout));

        for (int round = 1; round <= 3; round++)
        {
            var expected = await File.ReadAllBytesAsync(SimulationRunner.RoundAdapterFile(new RunFolder(_simulation.RunDirectory).RoundAdaptersDirectory, round));
            var actual = await File.ReadAllBytesAsync(SimulationRunner.RoundAdapterFile(new RunFolder(run).RoundAdaptersDirectory, round));
            Assert.True(expected.AsSpan().SequenceEqual(actual), $"round {round}'s global adapter differs from the uninterrupted run's");
        }
        Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(_simulation.RunDirectory, "global-adapter", "adapter_model.safetensors")),
            await File.ReadAllBytesAsync(Path.Combine(run, "global-adapter", "adapter_model.safetensors")));
        output.WriteLine("| phase | process / fault | outcome | seconds |");
        output.WriteLine("|---|---|---|---|");
        foreach (var row in _table) output.WriteLine(row);
    }

    /// <summary>An attempt in which the simulate parent (with the in-process orchestrator) is killed once <paramref name="reached"/> returns: its children must stop by themselves.</summary>
    private async Task KilledParentAttemptAsync(string[] args, string run, Dictionary<string, string> environment, string phase,
        Func<SimulateProcess, Task> reached)
    {
        var start = DateTime.UtcNow;
        using var sim = SimulateProcess.Start(args, environment, output.WriteLine);
        await reached(sim);
        sim.KillParentOnly();
        Assert.NotNull(await sim.WaitForExitAsync(StopTimeout));
        var left = await RunProcesses.WaitUntilNoneLeftAsync(run, NoOrphanTimeout);
        Assert.True(left.Count == 0, $"left running after the parent was killed at {phase}: {string.Join("; ", left)}");
        _table.Add(Row(phase, "parent + orchestrator (kill -9)", "agents and Azurite stopped by themselves; rerun resumed", start));
    }

    /// <summary>An attempt in which a child process is killed: simulate must stop by itself, marked failed, saying how to resume.</summary>
    private async Task FailedAttemptAsync(string[] args, string run, Dictionary<string, string> environment, string phase, string fault,
        Func<SimulateProcess, Task> inject, string expectInMessage)
    {
        var start = DateTime.UtcNow;
        using var sim = SimulateProcess.Start(args, environment, output.WriteLine);
        await inject(sim);
        var code = await sim.WaitForExitAsync(StopTimeout);
        Assert.True(code == 1, $"simulate did not stop by itself after the fault ({phase}, {fault}): {code}{Environment.NewLine}{sim.Output}");
        var failure = sim.Output.Split('\n').Single(l => l.StartsWith("fedtune simulate: the run did not complete", StringComparison.Ordinal));
        Assert.Contains(expectInMessage, failure, StringComparison.Ordinal);
        Assert.Contains("resume with: fedtune simulate", failure, StringComparison.Ordinal);
        Assert.Equal("failed", ReadOutcome(run).ToLowerInvariant());
        var left = await RunProcesses.WaitUntilNoneLeftAsync(run, NoOrphanTimeout);
        Assert.True(left.Count == 0, $"left running after {fault} at {phase}: {string.Join("; ", left)}");
        _table.Add(Row(phase, fault, "run failed with the resume command, no process left; rerun resumed", start));
    }

    private static async Task AgentLogAsync(string run, string hospital, string text)
    {
        var log = Path.Combine(run, "agents", hospital, "agent.log");
        long from = File.Exists(log) ? new FileInfo(log).Length : 0;
        var deadline = DateTime.UtcNow + PhaseTimeout;
        while (true)
        {
            if (File.Exists(log))
            {
                using var stream = new FileStream(log, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
                if (stream.Length > from)
                {
                    stream.Seek(from, SeekOrigin.Begin);
                    if ((await new StreamReader(stream).ReadToEndAsync()).Contains(text, StringComparison.Ordinal)) return;
                }
                else if (stream.Length < from)
                {
                    from = 0;
                }
            }
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{hospital}'s agent never logged '{text}'");
            await Task.Delay(200);
        }
    }

    private static void CopyFolder(string from, string to)
    {
        if (!Directory.Exists(from)) return;
        foreach (var dir in Directory.GetDirectories(from, "*", SearchOption.AllDirectories)) Directory.CreateDirectory(dir.Replace(from, to, StringComparison.Ordinal));
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            try { File.Copy(file, file.Replace(from, to, StringComparison.Ordinal), overwrite: true); }
            catch (IOException) { }
        }
    }

    private static string ReadOutcome(string run)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, ".state", "run-state.json")));
        foreach (var p in doc.RootElement.EnumerateObject())
        {
            if (p.Name.Equals("outcome", StringComparison.OrdinalIgnoreCase)) return p.Value.ToString();
        }
        return "";
    }

    private static string Row(string phase, string fault, string outcome, DateTime start) =>
        FormattableString.Invariant($"| {phase} | {fault} | {outcome} | {(DateTime.UtcNow - start).TotalSeconds:F0} |");
}
