namespace FedTune.Core.Privacy;

/// <summary>
/// Exposure of an inserted secret (Carlini et al. 2019, "The Secret Sharer"):
/// exposure = log2 |R| - log2 rank(secret), where R is the candidate set (the true secret included) and rank 1 is
/// the candidate the model finds most likely (lowest NLL). Exposure 0 = the secret is the least likely candidate;
/// log2 |R| = it is the most likely, i.e. extractable by enumerating |R| guesses. Ties with the secret count half
/// (mid-rank), so a model that scores every candidate equally gets exposure about 1, not log2 |R|.
/// </summary>
public static class CanaryExposure
{
    /// <summary>Rank (1 = most likely) of a secret with NLL <paramref name="secretNll"/> among itself and the other candidates.</summary>
    public static double Rank(double secretNll, IReadOnlyCollection<double> otherCandidateNlls)
    {
        ArgumentNullException.ThrowIfNull(otherCandidateNlls);
        if (!double.IsFinite(secretNll))
        {
            throw new ArgumentException($"The secret's NLL is {secretNll}: it must be a finite number.", nameof(secretNll));
        }

        var better = 0;
        var tied = 0;
        foreach (var nll in otherCandidateNlls)
        {
            if (!double.IsFinite(nll))
            {
                throw new ArgumentException($"A candidate NLL is {nll}: every candidate must be scored with a finite NLL.", nameof(otherCandidateNlls));
            }

            if (nll < secretNll)
            {
                better++;
            }
            else if (nll == secretNll)
            {
                tied++;
            }
        }

        return 1 + better + tied / 2.0;
    }

    /// <summary>Exposure in bits of the secret among itself and <paramref name="otherCandidateNlls"/>.</summary>
    public static double Exposure(double secretNll, IReadOnlyCollection<double> otherCandidateNlls)
    {
        var rank = Rank(secretNll, otherCandidateNlls);
        return Math.Log2(otherCandidateNlls.Count + 1) - Math.Log2(rank);
    }
}
