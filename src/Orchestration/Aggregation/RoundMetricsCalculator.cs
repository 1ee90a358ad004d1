using FedTune.Core.Protocol;

namespace FedTune.Orchestration.Aggregation;

/// <summary>Example-weighted averages of the participants' reported metrics (federated evaluation), and the round's record-level ε.</summary>
public static class RoundMetricsCalculator
{
    /// <summary>
    /// Train loss is weighted by example count; held-out NLL by held-out token count (so it is the federation's
    /// per-token NLL), falling back to example count when tokens are not reported. Perplexity = exp(NLL).
    /// </summary>
    public static RoundMetrics WeightedAverages(IReadOnlyList<UpdateManifest> manifests)
    {
        ArgumentNullException.ThrowIfNull(manifests);
        double lossSum = 0, lossWeight = 0, nllSum = 0, nllWeight = 0;
        long tokens = 0;
        foreach (var m in manifests)
        {
            if (m.Metrics.TrainLoss is double loss && double.IsFinite(loss))
            {
                lossSum += loss * m.ExampleCount;
                lossWeight += m.ExampleCount;
            }
            if (m.Metrics.HeldOutNll is double nll && double.IsFinite(nll))
            {
                double w = m.Metrics.HeldOutTokens > 0 ? m.Metrics.HeldOutTokens : m.ExampleCount;
                nllSum += nll * w;
                nllWeight += w;
                tokens += m.Metrics.HeldOutTokens;
            }
        }
        double? meanNll = nllWeight > 0 ? nllSum / nllWeight : null;
        return new RoundMetrics
        {
            TrainLoss = lossWeight > 0 ? lossSum / lossWeight : null,
            HeldOutNll = meanNll,
            HeldOutPerplexity = meanNll is double n ? Math.Exp(n) : null,
            HeldOutTokens = tokens,
        };
    }

    /// <summary>
    /// The round's record-level ε: the largest any participant reports (the guarantee holds for every hospital's records
    /// only at the worst one's ε, so no average); null when none trained with record-level DP.
    /// </summary>
    public static double? MaxRecordEpsilon(IReadOnlyList<UpdateManifest> manifests)
    {
        ArgumentNullException.ThrowIfNull(manifests);
        double? max = null;
        foreach (var m in manifests)
        {
            if (m.Metrics.RecordEpsilon is double epsilon && !double.IsNaN(epsilon))
            {
                max = max is double current ? Math.Max(current, epsilon) : epsilon;
            }
        }

        return max;
    }
}
