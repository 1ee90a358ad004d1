using FedTune.Core.Privacy;
using FedTune.Training.Data;
using FedTune.Training.Modeling;

namespace FedTune.Training.Privacy;

/// <summary>
/// Ranks each canary's true secret among candidate numbers by the model's total NLL of the response
/// ("Patient X's medical record number is N.", i.e. −log p of the whole completion given the prompt) and converts the
/// rank to exposure (<see cref="CanaryExposure"/>).
/// </summary>
internal static class CanaryExposureMeter
{
    public static IReadOnlyList<CanaryExposureResult> Measure(
        ICausalLanguageModel model, ITextTokenizer tokenizer, CanarySet canaries, AlpacaExampleTokenizer exampleTokenizer,
        PrivacyAuditOptions options, CancellationToken cancellationToken)
    {
        var scorer = new TokenLogProbabilityScorer(model, tokenizer, options.Scoring with { DistributionStatistics = false });
        var set = options.CanaryCandidates is { } candidates ? canaries with { Options = canaries.Options with { Candidates = candidates } } : canaries;
        // Every canary's candidates are scored in one call, so batches are full across canaries.
        var examplesPerCanary = new List<List<TokenizedExample>>();
        foreach (var canary in set.Canaries)
        {
            var alternatives = set.AlternativeNumbers(canary);
            var examples = new[] { canary.Secret }.Concat(alternatives).Select(n => exampleTokenizer.Tokenize(canary.RecordFor(n))).ToList();
            if (examples[0].Labels.SequenceEqual(examples[1].Labels))
            {
                throw new InvalidOperationException(
                    $"The canary of {canary.PatientName} loses its number to truncation at seq_length {exampleTokenizer.Options.SeqLength}: " +
                    "raise seq_length (the same one training used) so the secret is scored.");
            }

            examplesPerCanary.Add(examples);
        }

        // The candidates of a canary differ only from the number on: every token before it has the same context in
        // all of them, so it is scored once, in the secret's record, and only the rest of each other candidate goes
        // through the output layer (the same NLLs; the prefix's float rounding is then shared by every candidate).
        var sharedPrefixes = examplesPerCanary.Select(SharedPrefixLength).ToList();
        var toScore = examplesPerCanary.SelectMany((examples, c) => examples.Take(1).Concat(examples.Skip(1).Select(e => WithoutScoredPrefix(e, sharedPrefixes[c]))));
        var scores = scorer.Score(toScore.ToList(), cancellationToken);
        var results = new List<CanaryExposureResult>();
        var offset = 0;
        for (var c = 0; c < set.Canaries.Count; c++)
        {
            var count = examplesPerCanary[c].Count;
            var secret = scores[offset];
            var prefixTokens = ScoredTokensBefore(examplesPerCanary[c][0], sharedPrefixes[c]);
            var prefixNll = -secret.LogProbabilities.Take(prefixTokens).Sum(v => (double)v);
            // Every NLL is the shared prefix's (from the secret's record) plus the candidate's own tokens after it.
            var nlls = scores.Skip(offset).Take(count)
                .Select((t, i) => prefixNll - t.LogProbabilities.Skip(i == 0 ? prefixTokens : 0).Sum(v => (double)v))
                .ToArray();
            offset += count;
            var others = nlls[1..];
            results.Add(new CanaryExposureResult(
                set.Canaries[c].PatientName,
                CanaryExposure.Rank(nlls[0], others),
                nlls.Length,
                CanaryExposure.Exposure(nlls[0], others),
                Math.Log2(nlls.Length),
                nlls[0]));
        }

        return results;
    }

    /// <summary>How many leading tokens every candidate has in common with the first (the secret's record).</summary>
    internal static int SharedPrefixLength(IReadOnlyList<TokenizedExample> candidates)
    {
        var first = candidates[0].InputIds;
        var shared = first.Length;
        foreach (var candidate in candidates.Skip(1))
        {
            var i = 0;
            while (i < shared && i < candidate.InputIds.Length && candidate.InputIds[i] == first[i]) i++;
            shared = i;
        }

        return shared;
    }

    /// <summary>The candidate with its labels before <paramref name="prefixLength"/> ignored (scored in the secret's record).</summary>
    private static TokenizedExample WithoutScoredPrefix(TokenizedExample candidate, int prefixLength)
    {
        var labels = (int[])candidate.Labels.Clone();
        Array.Fill(labels, TokenizedExample.IgnoreIndex, 0, Math.Min(prefixLength, labels.Length));
        return candidate with { Labels = labels };
    }

    private static int ScoredTokensBefore(TokenizedExample example, int prefixLength) =>
        example.Labels.Take(prefixLength).Skip(1).Count(l => l != TokenizedExample.IgnoreIndex);
}
