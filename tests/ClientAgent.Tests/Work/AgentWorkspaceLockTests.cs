using System.Globalization;
using FedTune.ClientAgent.Work;
using FedTune.TestSupport;

namespace FedTune.ClientAgent.Tests.Work;

/// <summary>A work folder held by another agent process is refused with that process's pid and how to stop it.</summary>
public sealed class AgentWorkspaceLockTests : IDisposable
{
    private readonly TempDirectory _dir = new("agent-lock");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void A_second_agent_on_a_locked_work_folder_is_told_which_process_holds_it_and_how_to_stop_it()
    {
        var work = _dir.File("work");
        using var holder = AgentWorkspace.Open(work);
        var pid = Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        Assert.Equal(pid, File.ReadAllText(Path.Combine(work, AgentLockOwner.FileName)));

        var refused = Assert.Throws<InvalidOperationException>(() => AgentWorkspace.Open(work));

        Assert.Contains($"in use by agent process {pid}", refused.Message, StringComparison.Ordinal);
        Assert.Contains($"Fix: stop it with `kill {pid}`", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', refused.Message);
    }

    [Fact]
    public void A_lock_left_by_a_process_that_is_gone_does_not_block_the_next_agent()
    {
        var work = _dir.File("work2");
        AgentWorkspace.Open(work).Dispose();
        File.WriteAllText(Path.Combine(work, AgentLockOwner.FileName), "2147483646");

        using var next = AgentWorkspace.Open(work);

        Assert.Equal(Environment.ProcessId.ToString(CultureInfo.InvariantCulture), File.ReadAllText(Path.Combine(work, AgentLockOwner.FileName)));
    }
}
