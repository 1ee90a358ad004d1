using FedTune.Core.Configuration;

namespace FedTune.Core.Privacy;

/// <summary>
/// The (ε, δ) a hospital has spent on its own records under <see cref="RecordPrivacyConfig"/>: <paramref name="steps"/>
/// DP-SGD steps, each a Poisson sample with rate q = expected batch / training records, composed with the RDP
/// accountant of the sampled Gaussian mechanism (Mironov et al. 2019).
/// </summary>
public static class RecordPrivacyLedger
{
    /// <summary>The sampling rate of one DP-SGD step: the expected batch over the hospital's training records (at most 1).</summary>
    public static double SamplingRate(int expectedBatch, int trainingRecords)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(expectedBatch, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(trainingRecords, 1);
        return Math.Min(1.0, (double)expectedBatch / trainingRecords);
    }

    /// <summary>ε after <paramref name="steps"/> steps at <paramref name="samplingRate"/> (0 steps: 0).</summary>
    public static double Epsilon(RecordPrivacyConfig privacy, double samplingRate, long steps)
    {
        ArgumentNullException.ThrowIfNull(privacy);
        ArgumentOutOfRangeException.ThrowIfNegative(steps);
        if (steps == 0) return 0;
        var orders = RdpAccountant.DefaultOrders;
        var rdp = RdpAccountant.ComputeRdp(samplingRate, privacy.NoiseMultiplier, steps, orders);
        return RdpAccountant.ComputeEpsilon(orders, rdp, privacy.Delta).Epsilon;
    }
}
