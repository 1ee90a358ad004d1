using FedTune.Cli.Bench;
using Xunit;

namespace FedTune.Cli.Tests.Bench;

/// <summary>
/// `fedtune bench aggregate-round` times the aggregation AggregateRound runs only after checking that its single pass gives
/// the reference path's adapter and validations bit for bit; every line it prints is measured in the same run.
/// </summary>
public sealed class AggregationRoundBenchmarkTests
{
    [Fact]
    public void The_round_benchmark_checks_identity_then_prints_every_method_against_memcpy()
    {
        using var output = new StringWriter();
        var code = AggregationRoundBenchmark.Run(new AggregationRoundBenchmarkOptions { Hospitals = 3, Rank = 2, Repetitions = 1 }, output);

        var text = output.ToString();
        Assert.Equal(0, code);
        Assert.Contains("identical to the reference path's (bit for bit)", text, StringComparison.Ordinal);
        foreach (var method in new[] { "memcpy of the same bytes", "round after the download", "round hashing in its pass", "reference path", "LoRA product error" })
        {
            Assert.Contains(method, text, StringComparison.Ordinal);
        }
    }
}
