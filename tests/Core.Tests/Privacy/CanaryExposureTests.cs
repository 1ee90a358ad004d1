using FedTune.Core.Privacy;

namespace FedTune.Core.Tests.Privacy;

public sealed class CanaryExposureTests
{
    [Fact]
    public void Exposure_is_log2_of_the_candidate_count_when_the_secret_ranks_first()
    {
        var others = Enumerable.Range(1, 1023).Select(i => 10.0 + i).ToArray();
        Assert.Equal(1, CanaryExposure.Rank(5.0, others));
        Assert.Equal(10.0, CanaryExposure.Exposure(5.0, others), 12);
    }

    [Fact]
    public void Exposure_drops_by_the_log2_of_the_rank()
    {
        // 1024 candidates; 3 others have a lower NLL than the secret -> rank 4 -> 10 - 2 = 8 bits.
        var others = Enumerable.Range(1, 1023).Select(i => (double)i).ToArray();
        Assert.Equal(4, CanaryExposure.Rank(3.5, others));
        Assert.Equal(8.0, CanaryExposure.Exposure(3.5, others), 12);
    }

    [Fact]
    public void Exposure_is_zero_when_the_secret_is_the_least_likely_candidate()
    {
        Assert.Equal(0.0, CanaryExposure.Exposure(100.0, [1.0, 2.0, 3.0]), 12);
    }

    [Fact]
    public void Ties_with_the_secret_count_half()
    {
        // 4 candidates all equal: rank 1 + 3/2 = 2.5, exposure log2(4) - log2(2.5).
        Assert.Equal(2.5, CanaryExposure.Rank(1.0, [1.0, 1.0, 1.0]));
        Assert.Equal(2 - Math.Log2(2.5), CanaryExposure.Exposure(1.0, [1.0, 1.0, 1.0]), 12);
    }

    [Fact]
    public void Non_finite_candidate_scores_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => CanaryExposure.Exposure(1.0, [double.NaN]));
        Assert.Throws<ArgumentException>(() => CanaryExposure.Exposure(double.PositiveInfinity, [1.0]));
    }
}
