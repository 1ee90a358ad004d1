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

        var scores = scorer.Score(examplesPerCanary.SelectMany(e => e).ToList(), cancellationToken);
        var results = new List<CanaryExposureResult>();
        var offset = 0;
        for (var c = 0; c < set.Canaries.Count; c++)
        {
            var count = examplesPerCanary[c].Count;
            var nlls = scores.Skip(offset).Take(count).Select(t => -t.LogProbabilities.Sum(v => (double)v)).ToArray();
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
}
