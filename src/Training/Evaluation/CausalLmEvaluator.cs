using FedTune.Core.Configuration;
using FedTune.Training.Data;
using FedTune.Training.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace FedTune.Training.Evaluation;

/// <summary>
/// Scores token sequences under a causal LM without gradients, in batches of <c>batchSize</c> (padded on
/// <c>paddingSide</c>; padding is masked and never scored). Records keep their input order. The model is put in
/// evaluation mode (no dropout) for the call and restored to evaluation mode afterwards.
/// </summary>
public sealed class CausalLmEvaluator
{
    private readonly ICausalLanguageModel _model;
    private readonly int _batchSize;
    private readonly CausalLmBatchCollator _collator;

    public CausalLmEvaluator(ICausalLanguageModel model, int padTokenId, int batchSize = 4, PaddingSide paddingSide = PaddingSide.Left)
    {
        _model = model ?? throw new ArgumentNullException(nameof(model));
        if (batchSize < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "The evaluation batch size must be at least 1.");
        }

        _batchSize = batchSize;
        _collator = new CausalLmBatchCollator(padTokenId, paddingSide);
    }

    /// <summary>Mean token NLL and perplexity over all scored tokens of <paramref name="examples"/>.</summary>
    public EvaluationResult Evaluate(IReadOnlyList<TokenizedExample> examples, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(examples);
        double nll = 0;
        long tokens = 0;
        foreach (var batchExamples in Batches(examples))
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var scope = torch.NewDisposeScope();
            using var noGrad = torch.no_grad();
            using var batch = _collator.Collate(batchExamples, _model.Device);
            nll += _model.SumNll(batch.InputIds, batch.AttentionMask, batch.Labels).to_type(ScalarType.Float64).item<double>();
            tokens += batch.ScoredTokens;
        }

        if (tokens == 0)
        {
            throw new ArgumentException("The evaluation data has no scored tokens: every record is empty or its response was truncated away.");
        }

        var mean = nll / tokens;
        return new EvaluationResult(tokens, mean, Math.Exp(mean));
    }

    /// <summary>
    /// Per-record token log-probabilities (and, with <paramref name="includeDistributionStatistics"/>, the mean and
    /// variance of log p under the model's next-token distribution at each scored position).
    /// </summary>
    public IReadOnlyList<RecordScores> ScoreRecords(
        IReadOnlyList<TokenizedExample> examples,
        bool includeDistributionStatistics = false,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(examples);
        var scores = new List<RecordScores>(examples.Count);
        foreach (var batchExamples in Batches(examples))
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var scope = torch.NewDisposeScope();
            using var noGrad = torch.no_grad();
            using var batch = _collator.Collate(batchExamples, _model.Device);
            var logits = _model.Forward(batch.InputIds, batch.AttentionMask);
            for (int b = 0; b < batchExamples.Length; b++)
            {
                // One row at a time: the [time, vocabulary] log-softmax and its statistics stay one row big.
                using var rowScope = torch.NewDisposeScope();
                var logProbs = logits[b, ..^1, ..].to_type(ScalarType.Float32).log_softmax(-1);
                var labels = batch.Labels[b, 1..];
                var positions = torch.nonzero(labels.ne(TokenizedExample.IgnoreIndex)).squeeze(-1);
                var scoredLogProbs = logProbs.index_select(0, positions);
                var tokenLogProbs = scoredLogProbs.gather(-1, labels.index_select(0, positions).unsqueeze(-1)).squeeze(-1);
                float[]? mu = null;
                float[]? sigma2 = null;
                if (includeDistributionStatistics)
                {
                    var probabilities = scoredLogProbs.exp();
                    var expected = (probabilities * scoredLogProbs).sum(-1);
                    var variance = ((probabilities * scoredLogProbs.square()).sum(-1) - expected.square()).clamp_min(0);
                    mu = ToCpuArray<float>(expected);
                    sigma2 = ToCpuArray<float>(variance);
                }

                var values = ToCpuArray<float>(tokenLogProbs);
                scores.Add(new RecordScores(values.Length, -values.Sum(v => (double)v), values, mu, sigma2));
            }
        }

        return scores;
    }

    private static T[] ToCpuArray<T>(Tensor tensor)
        where T : unmanaged
    {
        using var cpu = tensor.cpu().contiguous();
        return cpu.data<T>().ToArray();
    }

    private IEnumerable<TokenizedExample[]> Batches(IReadOnlyList<TokenizedExample> examples)
    {
        _model.SetTraining(false);
        for (int start = 0; start < examples.Count; start += _batchSize)
        {
            var batch = new TokenizedExample[Math.Min(_batchSize, examples.Count - start)];
            for (int i = 0; i < batch.Length; i++)
            {
                batch[i] = examples[start + i];
            }

            yield return batch;
        }
    }
}
