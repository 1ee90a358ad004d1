namespace FedTune.Orchestration.Plans;

/// <summary>FlowerTune's server-side cosine schedule: the learning rate each round's local training uses.</summary>
public static class LearningRateSchedule
{
    /// <summary><c>lr_min + 0.5 (lr_max - lr_min) (1 + cos(pi * round / total_rounds))</c>, rounds counted from 1.</summary>
    public static double CosineForRound(int round, int totalRounds, double lrMax, double lrMin)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(totalRounds, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(round, 1);
        double progress = Math.Min(round, totalRounds) / (double)totalRounds;
        return lrMin + 0.5 * (lrMax - lrMin) * (1 + Math.Cos(Math.PI * progress));
    }
}
