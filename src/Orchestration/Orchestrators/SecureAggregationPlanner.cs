using FedTune.Core.Protocol;
using FedTune.Core.SecureAggregation;
using FedTune.Orchestration.Plans;

namespace FedTune.Orchestration.Orchestrators;

/// <summary>
/// The secure-aggregation part of a round's tasks (pure): the setup every hospital shares and the deadlines of the extra
/// steps. Keys are due in the first fifth of the round, encrypted shares (sent after training) by four fifths, the
/// masked upload by the round deadline, and the survivors' reveal within a fifth of the round after it.
/// </summary>
public static class SecureAggregationPlanner
{
    public static SecureAggregationTask? TaskFor(FederationPlan plan, int round, int attempt, int sampled, DateTimeOffset issuedUtc)
    {
        ArgumentNullException.ThrowIfNull(plan);
        if (plan.SecureAggregation is not { } secure)
        {
            return null;
        }

        // Each hospital's secrets are shared among itself and its neighbours: the threshold is out of those holders.
        var degree = Math.Min(secure.Neighbours ?? sampled - 1, sampled - 1);
        var holders = degree + 1;
        var threshold = Math.Max(2, secure.Threshold ?? holders / 2 + 1);
        if (threshold > holders)
        {
            throw new FederationFailedException(
                $"Run {plan.RunId} round {round}: secure aggregation needs {threshold} share holders (threshold) but each hospital has only {holders} " +
                $"(itself and {degree} neighbour(s) among {sampled} sampled). Fix: add hospitals, raise neighbours, or lower federation.secure_aggregation.threshold (at least 2).");
        }

        var deadline = plan.RoundDeadline;
        return new SecureAggregationTask
        {
            Setup = new SecAggSetup
            {
                RoundLabel = $"{plan.RunId}/{BlobLayout.RoundSegment(round)}/attempt-{attempt}",
                Threshold = threshold,
                Degree = degree,
            },
            KeysDeadlineUtc = issuedUtc + deadline / 5,
            SharesDeadlineUtc = issuedUtc + deadline * 4 / 5,
            RevealDeadlineUtc = issuedUtc + deadline + deadline / 5,
            ClipNorm = plan.Aggregation.DifferentialPrivacy?.ClippingNorm,
            UniformWeights = plan.Aggregation.DifferentialPrivacy is not null || plan.Aggregation.Weighting == Core.Aggregation.WeightingKind.Uniform,
            WeightCap = plan.Aggregation.Weighting == Core.Aggregation.WeightingKind.Budget && plan.Recipe.MaxSteps > 0
                ? (double)plan.Recipe.MaxSteps * plan.Recipe.BatchSize * Math.Max(1, plan.Recipe.GradientAccumulationSteps)
                : null,
        };
    }
}
