namespace FedTune.Core.Configuration;

/// <summary>FlowerTune's per-round learning rate schedule.</summary>
public static class FederatedLearningRate
{
    /// <summary>
    /// <c>lr_min + 0.5·(lr_max − lr_min)·(1 + cos(π·round / totalRounds))</c>, as FlowerTune's <c>cosine_annealing</c>
    /// (round 0 gives lr_max, round totalRounds gives lr_min).
    /// </summary>
    public static double ForRound(int round, int totalRounds, double lrMax, double lrMin)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(round);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(totalRounds);
        var cosine = Math.Cos(Math.PI * round / totalRounds);
        return lrMin + (0.5 * (lrMax - lrMin) * (1 + cosine));
    }
}
