using FedTune.Cli.Simulation;
using FedTune.Core.Configuration;
using Xunit;

namespace FedTune.Cli.Tests.Simulation;

/// <summary>The DP arm: asked by --dp or by a YAML with DP; the plain arm never carries DP; the DP arm keeps the YAML's own.</summary>
public sealed class PrivateArmTests
{
    private static readonly FedTuneConfig Plain = SimulationPlanFactory.DefaultConfig(new SimulationOptions());

    [Fact]
    public void Without_dp_there_is_no_private_arm()
    {
        var (plain, withDp) = PrivateArm.Split(Plain, asked: false);
        Assert.Null(withDp);
        Assert.Null(plain.Recipe.RecordPrivacy);
        Assert.Null(plain.Federation.DifferentialPrivacy);
    }

    [Fact]
    public void Dp_asked_without_dp_in_the_yaml_adds_record_level_dp_sgd_with_the_defaults_to_an_otherwise_identical_recipe()
    {
        var (plain, withDp) = PrivateArm.Split(Plain, asked: true);
        Assert.NotNull(withDp);
        Assert.Equal(PrivateArm.DefaultRecordPrivacy, withDp.Recipe.RecordPrivacy);
        Assert.Null(withDp.Federation.DifferentialPrivacy);
        Assert.Equal(plain.Recipe, withDp.Recipe with { RecordPrivacy = null });
        Assert.Contains("record-level DP-SGD", PrivateArm.Describe(withDp), StringComparison.Ordinal);
    }

    [Fact]
    public void A_yaml_with_dp_keeps_its_own_dp_for_the_private_arm_and_strips_it_from_the_plain_one()
    {
        var config = Plain with
        {
            Recipe = Plain.Recipe with { RecordPrivacy = new RecordPrivacyConfig { ClipNorm = 0.5, NoiseMultiplier = 2 } },
            Federation = Plain.Federation with { DifferentialPrivacy = new DifferentialPrivacyConfig { ClipNorm = 3, NoiseMultiplier = 0.7 } },
        };
        var (plain, withDp) = PrivateArm.Split(config, asked: false);
        Assert.Same(config, withDp);
        Assert.Null(plain.Recipe.RecordPrivacy);
        Assert.Null(plain.Federation.DifferentialPrivacy);
        var described = PrivateArm.Describe(withDp!);
        Assert.Contains("clipped to 0.5, Gaussian noise multiplier 2", described, StringComparison.Ordinal);
        Assert.Contains("hospital-level DP-FedAvg", described, StringComparison.Ordinal);
    }

    [Fact]
    public void The_dp_flag_and_a_yaml_with_dp_both_turn_the_arm_on()
    {
        Assert.True(SimulationOptionsBinder.Bind(new SimulationOverrides { Dp = true }).Dp);
        Assert.False(SimulationOptionsBinder.Bind(new SimulationOverrides()).Dp);
        var yaml = Path.GetTempFileName();
        try
        {
            File.WriteAllText(yaml, """
                dataset:
                  name: medalpaca/medical_meadow_medical_flashcards
                model:
                  name: EleutherAI/pythia-70m
                train:
                  differential_privacy:
                    clip_norm: 1.0
                    noise_multiplier: 1.1
                """);
            Assert.True(SimulationOptionsBinder.Bind(new SimulationOverrides { ConfigPath = yaml }).Dp);
        }
        finally
        {
            File.Delete(yaml);
        }
    }
}
