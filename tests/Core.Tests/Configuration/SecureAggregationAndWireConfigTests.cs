using FedTune.Core.Compression;
using FedTune.Core.Configuration;
using FedTune.TestSupport;

namespace FedTune.Core.Tests.Configuration;

public sealed class SecureAggregationAndWireConfigTests
{
    [Fact]
    public void Secure_aggregation_is_off_by_default_and_on_with_its_threshold_and_neighbours()
    {
        Assert.Null(FedTuneConfigLoader.Parse(SeedConfigYaml.Nested + SeedConfigYaml.Federation, "run.yaml").Federation.SecureAggregation);
        var on = FedTuneConfigLoader.Parse(SeedConfigYaml.Nested + SeedConfigYaml.Federation + """

              secure_aggregation:
                enabled: true
                threshold: 2
                neighbours: 4
            """, "run.yaml");
        Assert.Equal(new SecureAggregationConfig { Threshold = 2, Neighbours = 4 }, on.Federation.SecureAggregation);
    }

    [Theory]
    [InlineData("median")]
    [InlineData("trimmed_mean")]
    [InlineData("norm_bounded")]
    public void Strategies_that_need_single_updates_are_refused_with_secure_aggregation(string strategy)
    {
        var yaml = SeedConfigYaml.Nested + SeedConfigYaml.Federation.Replace("name: fedadam", $"name: {strategy}", StringComparison.Ordinal) + """

              secure_aggregation:
                enabled: true
            """;
        var error = Assert.Throws<ConfigException>(() => FedTuneConfigLoader.Parse(yaml, "run.yaml"));
        Assert.Contains("needs each update on its own", error.Message, StringComparison.Ordinal);
        Assert.Contains("Fix:", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Capped_weighting_is_refused_with_secure_aggregation_because_the_declared_counts_are_hidden()
    {
        var yaml = SeedConfigYaml.Nested + SeedConfigYaml.Federation + """

              weighting: capped
              secure_aggregation:
                enabled: true
            """;
        var error = Assert.Throws<ConfigException>(() => FedTuneConfigLoader.Parse(yaml, "run.yaml"));
        Assert.Contains("weighting: capped", error.Message, StringComparison.Ordinal);
        Assert.Contains("Fix:", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Wire_precision_is_a_recipe_key_with_fp32_by_default()
    {
        Assert.Equal(WirePrecision.Fp32, FedTuneConfigLoader.Parse(SeedConfigYaml.Nested, "run.yaml").Recipe.WirePrecision);
        var int8 = SeedConfigYaml.Nested.Replace("  seq_length: 512", "  seq_length: 512\n  wire_precision: int8", StringComparison.Ordinal);
        Assert.Equal(WirePrecision.Int8, FedTuneConfigLoader.Parse(int8, "run.yaml").Recipe.WirePrecision);
        var bad = SeedConfigYaml.Nested.Replace("  seq_length: 512", "  seq_length: 512\n  wire_precision: int4", StringComparison.Ordinal);
        Assert.Throws<ConfigException>(() => FedTuneConfigLoader.Parse(bad, "run.yaml"));
    }
}
