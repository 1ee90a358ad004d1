using FedTune.Core.Configuration;
using FedTune.TestSupport;

namespace FedTune.Core.Tests.Configuration;

/// <summary><c>train.differential_privacy:</c> (record-level DP-SGD) as the loader reads and checks it.</summary>
public sealed class RecordPrivacyConfigTests
{
    private static string WithRecordPrivacy(string section) =>
        SeedConfigYaml.Nested.Replace("  padding_side: left\n", "  padding_side: left\n  differential_privacy:\n" + section, StringComparison.Ordinal);

    private static ConfigException Rejects(string yaml) =>
        Assert.Throws<ConfigException>(() => FedTuneConfigLoader.Parse(yaml, "bad.yaml"));

    [Fact]
    public void The_section_reaches_the_recipe_with_the_default_delta()
    {
        var config = FedTuneConfigLoader.Parse(WithRecordPrivacy("    clip_norm: 1.0\n    noise_multiplier: 0.8\n"), "dp.yaml");

        Assert.Equal(new RecordPrivacyConfig { ClipNorm = 1.0, NoiseMultiplier = 0.8, Delta = ConfigDefaults.Delta }, config.Recipe.RecordPrivacy);
    }

    [Fact]
    public void Without_the_section_the_recipe_has_no_record_level_DP()
        => Assert.Null(FedTuneConfigLoader.Parse(SeedConfigYaml.Nested, "plain.yaml").Recipe.RecordPrivacy);

    [Fact]
    public void A_missing_noise_multiplier_is_one_line_naming_the_key()
    {
        var error = Rejects(WithRecordPrivacy("    clip_norm: 1.0\n"));

        Assert.Equal("train.differential_privacy.noise_multiplier", error.KeyPath);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void A_noise_multiplier_of_zero_is_refused()
    {
        var error = Rejects(WithRecordPrivacy("    clip_norm: 1.0\n    noise_multiplier: 0\n"));

        Assert.Equal("train.differential_privacy.noise_multiplier", error.KeyPath);
    }

    [Fact]
    public void Record_level_DP_with_FedProx_is_refused_with_the_fix()
    {
        var yaml = WithRecordPrivacy("    clip_norm: 1.0\n    noise_multiplier: 0.8\n") + SeedConfigYaml.Federation
            .Replace("name: fedadam\n    eta: 0.01\n    beta_1: 0.8", "name: fedprox\n    proximal_mu: 0.1", StringComparison.Ordinal);

        var error = Rejects(yaml);

        Assert.Equal("train.differential_privacy", error.KeyPath);
        Assert.Contains("proximal_mu", error.Message, StringComparison.Ordinal);
        Assert.Contains("drop one", error.Message, StringComparison.Ordinal);
    }
}
