using FedTune.Cli.Simulation;
using FedTune.ClientAgent.Execution;
using FedTune.ClientAgent.Status;
using Xunit;

namespace FedTune.Cli.Tests.Simulation;

/// <summary>The live display shows what each agent reports in its own status file, uploading included, never a guess.</summary>
public sealed class AgentActivityTests
{
    private static AgentStatus Status(AgentActivity activity, TaskOutcome? outcome = null, int round = 2) => new()
    {
        HospitalId = "hospital-1", RunId = "run", Round = round, Activity = activity, Step = 4, MaxSteps = 10, LastOutcome = outcome,
        LastError = outcome == TaskOutcome.Failed ? "data_invalid: no records" : null,
    };

    [Theory]
    [InlineData(AgentActivity.Downloading, null, "downloading")]
    [InlineData(AgentActivity.Training, null, "training step 4/10")]
    [InlineData(AgentActivity.Evaluating, null, "evaluating")]
    [InlineData(AgentActivity.Uploading, null, "uploading")]
    [InlineData(AgentActivity.Idle, TaskOutcome.Completed, "uploaded")]
    [InlineData(AgentActivity.Idle, TaskOutcome.Failed, "failed: data_invalid: no records")]
    [InlineData(AgentActivity.Idle, TaskOutcome.Skipped, "skipped (past the round deadline)")]
    [InlineData(AgentActivity.Idle, TaskOutcome.Interrupted, "interrupted")]
    public void Each_reported_activity_is_shown_as_itself(AgentActivity activity, TaskOutcome? outcome, string shown)
    {
        Assert.Equal(shown, AgentActivityText.For(Status(activity, outcome), "run", 2));
    }

    [Fact]
    public void An_agent_that_has_not_reported_on_this_round_shows_nothing()
    {
        Assert.Null(AgentActivityText.For(null, "run", 2));
        Assert.Null(AgentActivityText.For(Status(AgentActivity.Idle, TaskOutcome.Completed, round: 1), "run", 2));
        Assert.Null(AgentActivityText.For(Status(AgentActivity.Training) with { RunId = "other" }, "run", 2));
    }

    [Fact]
    public void The_status_keeps_the_activity_until_the_orchestrator_records_the_round()
    {
        var status = new SimulationStatus();
        status.SetHospitals(["hospital-1"], 3);
        status.StartRound(1);
        status.SetAgentActivity("hospital-1", "uploading", 2.5);
        Assert.Equal("uploading", status.Snapshot().Hospitals[0].Activity);

        status.SetHospital("hospital-1", FedTune.Cli.Reporting.HospitalRoundState.Uploaded, 2.5);
        Assert.Null(status.Snapshot().Hospitals[0].Activity);
        Assert.Equal(FedTune.Cli.Reporting.HospitalRoundState.Uploaded, status.Snapshot().Hospitals[0].State);
    }
}
