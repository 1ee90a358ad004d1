namespace FedTune.Training.Trainer;

/// <summary>
/// FlowerTune's per-round learning rate (<c>cosine_annealing</c> in its LLM templates):
/// <c>lr_min + 0.5·(lr_max − lr_min)·(1 + cos(π · round / total_rounds))</c>, so a few steps per round still anneal
/// across the whole federation. The orchestrator computes it and the trainer uses it as the round's base rate.
/// </summary>
public static class FederatedLearningRate
{
    public static double CosineAnnealing(int currentRound, int totalRounds, double maxLearningRate, double minLearningRate = 0.0)
    {
        if (totalRounds < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(totalRounds), totalRounds, "There must be at least one round.");
        }

        var cosInner = Math.PI * currentRound / totalRounds;
        return minLearningRate + 0.5 * (maxLearningRate - minLearningRate) * (1 + Math.Cos(cosInner));
    }
}
