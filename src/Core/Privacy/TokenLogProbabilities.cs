namespace FedTune.Core.Privacy;

/// <summary>
/// What a model says about one record's scored tokens (position t is the prediction of token t+1):
/// <see cref="LogProbabilities"/> = log p(x_t+1 | x_≤t) of the actual token; <see cref="ExpectedLogProbabilities"/> =
/// E_z[log p(z | x_≤t)] and <see cref="LogProbabilityVariances"/> = Var_z[log p(z | x_≤t)] with z drawn from the
/// model's own next-token distribution at that position (the Min-K%++ statistics). <see cref="Text"/> is the text
/// the scored tokens cover (for the zlib attack).
/// </summary>
public sealed record TokenLogProbabilities(
    string Text,
    float[] LogProbabilities,
    float[] ExpectedLogProbabilities,
    float[] LogProbabilityVariances)
{
    public int TokenCount => LogProbabilities.Length;

    /// <summary>Mean negative log-likelihood per scored token.</summary>
    public double MeanNll
    {
        get
        {
            if (LogProbabilities.Length == 0)
            {
                throw new InvalidOperationException(
                    "This record has no scored tokens (empty response or fully truncated): drop it before scoring.");
            }

            double sum = 0;
            foreach (var lp in LogProbabilities)
            {
                sum -= lp;
            }

            return sum / LogProbabilities.Length;
        }
    }
}
