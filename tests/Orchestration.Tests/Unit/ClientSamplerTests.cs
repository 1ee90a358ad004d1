using FedTune.Orchestration.Sampling;
using Xunit;

namespace FedTune.Orchestration.Tests.Unit;

public sealed class ClientSamplerTests
{
    private static readonly string[] Hospitals = Enumerable.Range(0, 20).Select(i => $"h{i:D2}").ToArray();

    [Fact]
    public void Select_is_the_same_for_the_same_seed_round_and_attempt()
    {
        var first = ClientSampler.Select(Hospitals, seed: 7, round: 3, attempt: 0, fractionFit: 0.3, minFitClients: 2, minAvailableClients: 2);
        var again = ClientSampler.Select(Hospitals.Reverse().ToArray(), seed: 7, round: 3, attempt: 0, fractionFit: 0.3, minFitClients: 2, minAvailableClients: 2);
        Assert.Equal(first, again);
    }

    [Fact]
    public void Select_differs_between_rounds_attempts_and_seeds()
    {
        var samples = new[]
        {
            ClientSampler.Select(Hospitals, 7, 1, 0, 0.3, 2, 2),
            ClientSampler.Select(Hospitals, 7, 2, 0, 0.3, 2, 2),
            ClientSampler.Select(Hospitals, 7, 1, 1, 0.3, 2, 2),
            ClientSampler.Select(Hospitals, 8, 1, 0, 0.3, 2, 2),
        };
        Assert.Equal(4, samples.Select(s => string.Join(",", s)).Distinct().Count());
    }

    [Theory]
    [InlineData(20, 0.3, 2, 6)]
    [InlineData(20, 0.05, 3, 3)]
    [InlineData(3, 1.0, 2, 3)]
    [InlineData(10, 0.99, 1, 9)]
    public void SizeFor_follows_Flower_max_of_floor_fraction_and_min_fit(int available, double fraction, int minFit, int expected)
    {
        Assert.Equal(expected, ClientSampler.SizeFor(available, fraction, minFit, 1).Count);
        Assert.Equal(expected, ClientSampler.Select(Hospitals.Take(available).ToArray(), 1, 1, 0, fraction, minFit, 1).Count);
    }

    [Fact]
    public void Select_returns_sorted_distinct_members_of_the_pool()
    {
        var sample = ClientSampler.Select(Hospitals, 99, 5, 0, 0.5, 1, 1);
        Assert.Equal(10, sample.Count);
        Assert.Equal(sample.Order(StringComparer.Ordinal), sample);
        Assert.Equal(sample.Count, sample.Distinct().Count());
        Assert.All(sample, h => Assert.Contains(h, Hospitals));
    }

    [Fact]
    public void Select_is_empty_with_a_reason_when_fewer_hospitals_than_min_available()
    {
        var size = ClientSampler.SizeFor(2, 1.0, 1, 3);
        Assert.Equal(0, size.Count);
        Assert.Contains("min_available_clients is 3", size.Problem, StringComparison.Ordinal);
        Assert.Empty(ClientSampler.Select(["a", "b"], 1, 1, 0, 1.0, 1, 3));
    }

    [Fact]
    public void Every_hospital_is_sampled_about_equally_often_over_many_rounds()
    {
        var counts = Hospitals.ToDictionary(h => h, _ => 0);
        for (int round = 1; round <= 2000; round++)
        {
            foreach (var h in ClientSampler.Select(Hospitals, 3, round, 0, 0.25, 1, 1)) counts[h]++;
        }
        // 2000 rounds x 5 of 20 = 500 expected each; binomial sd ~ 19.
        Assert.All(counts.Values, c => Assert.InRange(c, 400, 600));
    }
}
