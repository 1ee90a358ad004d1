using System.Security.Cryptography;
using FedTune.Cli.Bench;
using FedTune.Core.Adapters;
using Xunit;
using Xunit.Abstractions;

namespace FedTune.Cli.Tests.Bench;

/// <summary>
/// `fedtune bench orchestrator` measures the real orchestrator with fake hospitals, so its hospitals must look like real
/// ones to the orchestrator's checks: every upload valid and distinct (bit-identical uploads are left out as copies).
/// </summary>
public sealed class OrchestratorBenchmarkTests(ITestOutputHelper output)
{
    [Fact]
    public void Every_fake_hospital_uploads_different_bytes_in_every_round_and_attempt()
    {
        var start = BenchAdapters.Initial();
        var hashes = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (round, attempt) in new[] { (1, 0), (2, 0), (2, 1) })
        {
            for (int i = 0; i < 2000; i++)
            {
                var bytes = AdapterWireFormat.ToBytes(BenchHospitalFleet.Trained(start, "h" + i.ToString("D5", System.Globalization.CultureInfo.InvariantCulture), round, attempt));
                Assert.True(hashes.Add(Convert.ToHexString(SHA256.HashData(bytes))), $"hospital {i} round {round} attempt {attempt} repeats an upload");
            }
        }
        // Same hospital, round and attempt: the same bytes (the benchmark is reproducible).
        Assert.Equal(AdapterWireFormat.ToBytes(BenchHospitalFleet.Trained(start, "h00007", 1, 0)), AdapterWireFormat.ToBytes(BenchHospitalFleet.Trained(start, "h00007", 1, 0)));
    }

    [Fact]
    public async Task A_small_benchmark_aggregates_every_fake_hospitals_update_in_every_round()
    {
        var text = new StringWriter();
        var figures = await OrchestratorBenchmark.RunAsync(new OrchestratorBenchmarkOptions { Hospitals = 12, Rounds = 2, Delay = TimeSpan.Zero, BatchSize = 5 },
            text, CancellationToken.None);
        output.WriteLine(text.ToString());

        // The benchmark throws unless each round's record counts all 12 participants.
        Assert.Equal([1, 2], figures.Select(f => f.Round));
        Assert.All(figures, f => Assert.True(f.DurationSeconds > 0));
        Assert.Contains("hospitals=12 rounds=2", text.ToString(), StringComparison.Ordinal);
    }
}
