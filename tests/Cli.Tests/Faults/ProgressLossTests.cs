using FedTune.Cli.Reporting;
using FedTune.Cli.Simulation;
using Xunit;

namespace FedTune.Cli.Tests.Faults;

/// <summary>Live progress shows one "uploaded" loss per hospital and round: the round record's, never training's last step loss.</summary>
public sealed class ProgressLossTests
{
    [Fact]
    public void An_upload_never_shows_the_last_training_step_loss_as_its_own()
    {
        var status = new SimulationStatus();
        var lines = new List<string>();
        status.Changed += lines.Add;
        status.SetHospitals(["hospital-1"], 2);
        status.StartRound(1);

        status.SetHospital("hospital-1", HospitalRoundState.Training, 2.5);
        status.SetHospital("hospital-1", HospitalRoundState.Uploaded);
        Assert.Null(status.Snapshot().Hospitals.Single().Loss);
        status.SetHospital("hospital-1", HospitalRoundState.Uploaded, 2.25);

        var uploadedLosses = lines.Where(l => l.Contains("uploaded loss", StringComparison.Ordinal)).ToList();
        Assert.Equal(["round 1: hospital-1 uploaded loss 2.2500"], uploadedLosses);
        Assert.Equal(2.25, status.Snapshot().Hospitals.Single().Loss);
    }
}
