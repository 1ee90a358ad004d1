using FedTune.Core.Configuration;
using FedTune.Core.Privacy;
using FedTune.Training.Data;
using FedTune.Training.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace FedTune.Training.Privacy;

/// <summary>
/// Runs a model over tokenized records (no gradients, evaluation mode) and returns, for every scored position, the
/// log-probability of the actual next token and, optionally, the mean and variance of log p(z) under the model's
/// next-token distribution (Min-K%++). Scored positions are those whose label is not ignored, shifted like the
/// training loss (logits at t predict the label at t+1), so with completion-only labels only response tokens count.
/// </summary>
public sealed class TokenLogProbabilityScorer
{
    private readonly ICausalLanguageModel _model;
    private readonly ITextTokenizer _tokenizer;
    private readonly TokenScoringOptions _options;
    private readonly CausalLmBatchCollator _collator;

    public TokenLogProbabilityScorer(ICausalLanguageModel model, ITextTokenizer tokenizer, TokenScoringOptions? options = null)
    {
        _model = model ?? throw new ArgumentNullException(nameof(model));
        _tokenizer = tokenizer ?? throw new ArgumentNullException(nameof(tokenizer));
        _options = options ?? new TokenScoringOptions();
        _options.Validate();
        _collator = new CausalLmBatchCollator(tokenizer.PadTokenId, PaddingSide.Left);
    }

    /// <summary>Scores every example; each must have at least one scored token.</summary>
    public IReadOnlyList<TokenLogProbabilities> Score(IReadOnlyList<TokenizedExample> examples, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(examples);
        for (var i = 0; i < examples.Count; i++)
        {
            if (examples[i].ScoredTokenCount == 0)
            {
                throw new ArgumentException(
                    $"Record {i} has no scored tokens (empty response, or truncated away): drop it before scoring.", nameof(examples));
            }
        }

        // Records of similar length share a batch (little padding); results go back in the callers' order.
        var byLength = Enumerable.Range(0, examples.Count).OrderBy(i => examples[i].InputIds.Length).ToArray();
        var results = new TokenLogProbabilities[examples.Count];
        _model.SetTraining(false);
        for (var start = 0; start < byLength.Length; start += _options.BatchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var indices = byLength.Skip(start).Take(_options.BatchSize).ToList();
            var scored = ScoreBatch(indices.Select(i => examples[i]).ToList());
            for (var j = 0; j < indices.Count; j++)
            {
                results[indices[j]] = scored[j];
            }
        }

        return results;
    }

    private List<TokenLogProbabilities> ScoreBatch(List<TokenizedExample> examples)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        using var batch = _collator.Collate(examples, _model.Device);
        // Logits at t score the label at t+1: the scored positions are those whose next label is not ignored.
        var nextLabels = torch.cat([batch.Labels[.., 1..], torch.full(batch.Labels.shape[0], 1, TokenizedExample.IgnoreIndex, dtype: batch.Labels.dtype, device: batch.Labels.device)], 1).reshape(-1);
        var positions = (nextLabels != TokenizedExample.IgnoreIndex).nonzero().reshape(-1);
        var scoredLabels = nextLabels.index_select(0, positions);
        var total = positions.shape[0];
        var tokenLogProbs = new float[total];
        var means = new float[_options.DistributionStatistics ? total : 0];
        var variances = new float[means.Length];
        // The layers run once per batch; the output layer projects PositionChunk scored rows at a time, each chunk
        // turned into log-probabilities (and Min-K%++ statistics) one row at a time in a cache-sized buffer
        // (NextTokenStatistics) before the next is projected.
        var targets = scoredLabels.to(ScalarType.Int64).cpu().data<long>().ToArray();
        _model.ConsumeLogitsAt(batch.InputIds, batch.AttentionMask, positions, _options.PositionChunk,
            (from, logits) => NextTokenStatistics.Compute(logits.cpu().contiguous(), targets, tokenLogProbs, means, variances, from));

        var results = new List<TokenLogProbabilities>(examples.Count);
        var offset = 0;
        foreach (var example in examples)
        {
            var n = example.ScoredTokenCount;
            var targetIds = ScoredTargets(example);
            results.Add(new TokenLogProbabilities(
                _tokenizer.Decode(targetIds.Where(id => id != _tokenizer.EosTokenId)),
                tokenLogProbs[offset..(offset + n)],
                _options.DistributionStatistics ? means[offset..(offset + n)] : [],
                _options.DistributionStatistics ? variances[offset..(offset + n)] : []));
            offset += n;
        }

        return results;
    }

    private static IEnumerable<int> ScoredTargets(TokenizedExample example)
    {
        for (var i = 1; i < example.Labels.Length; i++)
        {
            if (example.Labels[i] != TokenizedExample.IgnoreIndex)
            {
                yield return example.Labels[i];
            }
        }
    }
}
