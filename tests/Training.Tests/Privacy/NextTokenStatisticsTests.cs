using Xunit;
using FedTune.Core.Configuration;
using FedTune.Training.Data;
using FedTune.Training.Modeling;
using FedTune.Training.Privacy;
using FedTune.Training.Tests.Trainer;
using TorchSharp;
using static TorchSharp.torch;

namespace FedTune.Training.Tests.Privacy;

/// <summary>
/// The audit turns each chunk of output-layer logits into log p(target), μ and σ² of log p one row at a time in a
/// cache-sized buffer (<see cref="NextTokenStatistics"/>): the figures of log_softmax, gather, Σ p·log p and
/// Σ p·(log p − μ)², and the scorer takes its figures from that kernel.
/// </summary>
public sealed class NextTokenStatisticsTests
{
    [Fact]
    public void Rows_give_log_softmax_at_the_target_and_the_mean_and_variance_of_log_p()
    {
        using var scope = torch.NewDisposeScope();
        var generator = new Generator(5);
        // A peaked and a flat row among ordinary ones, over a vocabulary that is not a multiple of any vector width.
        var logits = torch.randn([6, 5003], generator: generator).mul_(4f);
        logits[1].mul_(0.01f);
        logits[2, 17] = torch.tensor(60f);
        long[] targets = [0, 4999, 17, 2500, 3, 5002];
        var logProbabilities = new float[8];
        var means = new float[8];
        var variances = new float[8];

        NextTokenStatistics.Compute(logits, targets.Prepend(-1).Prepend(-1).ToArray(), logProbabilities, means, variances, offset: 2);

        // Reference in float64: log_softmax, then E_p[log p] and Var_p[log p].
        var logP = nn.functional.log_softmax(logits.to(ScalarType.Float64), -1);
        var p = logP.exp();
        var mean = (p * logP).sum(-1);
        var variance = ((logP - mean.unsqueeze(1)).pow(2) * p).sum(-1);
        for (var r = 0; r < 6; r++)
        {
            Assert.Equal(logP[r, targets[r]].item<double>(), logProbabilities[2 + r], 4e-5);
            Assert.Equal(mean[r].item<double>(), means[2 + r], 4e-5);
            Assert.Equal(variance[r].item<double>(), variances[2 + r], 1e-4 * Math.Max(1, variance[r].item<double>()));
        }

        Assert.Equal([0f, 0f], logProbabilities[..2]);
    }

    [Fact]
    public void Without_statistics_only_the_target_log_probability_is_written()
    {
        using var scope = torch.NewDisposeScope();
        var logits = torch.randn([3, 300], generator: new Generator(9));
        var logProbabilities = new float[3];

        NextTokenStatistics.Compute(logits, [1, 2, 3], logProbabilities, [], [], offset: 0);

        var expected = nn.functional.log_softmax(logits, -1);
        for (var r = 0; r < 3; r++) Assert.Equal(expected[r, r + 1].item<float>(), logProbabilities[r], 1e-5);
    }

    [Fact]
    public void The_scorer_takes_every_figure_from_the_row_kernel_bit_for_bit()
    {
        using var model = new GptNeoXForCausalLM(PrivacyTestModels.Config);
        model.InitializeRandom(7);
        var tokenizer = new ByteTokenizer();
        var examples = new AlpacaExampleTokenizer(tokenizer, PrivacyTestModels.ShortTemplate, PrivacyTestModels.Tokenization)
            .TokenizeAll(PrivacyTestModels.Records(5, seed: 4));
        // One batch and one chunk, in the scorer's own order (shortest first), so both sides project the same rows.
        var options = new TokenScoringOptions { BatchSize = 16, PositionChunk = 100_000 };
        var scored = new TokenLogProbabilityScorer(model, tokenizer, options).Score(examples);

        var byLength = examples.OrderBy(e => e.InputIds.Length).ToList();
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        model.SetTraining(false);
        using var batch = new CausalLmBatchCollator(tokenizer.PadTokenId, PaddingSide.Left).Collate(byLength, CPU);
        var nextLabels = torch.cat([batch.Labels[.., 1..], torch.full(batch.Labels.shape[0], 1, TokenizedExample.IgnoreIndex, dtype: batch.Labels.dtype)], 1).reshape(-1);
        var positions = (nextLabels != TokenizedExample.IgnoreIndex).nonzero().reshape(-1);
        var logits = model.LogitsAt(batch.InputIds, batch.AttentionMask, positions).contiguous();
        var targets = nextLabels.index_select(0, positions).data<long>().ToArray();
        var buffer = new float[2 * logits.shape[1]];
        var row = 0;
        foreach (var example in byLength)
        {
            var result = scored[examples.ToList().IndexOf(example)];
            for (var t = 0; t < result.TokenCount; t++, row++)
            {
                var values = logits[row].data<float>().ToArray();
                var (logProbability, mean, variance) = NextTokenStatistics.Row(values, (int)targets[row], true, buffer.AsSpan(0, values.Length), buffer.AsSpan(values.Length));
                Assert.Equal(logProbability, result.LogProbabilities[t]);
                Assert.Equal(mean, result.ExpectedLogProbabilities[t]);
                Assert.Equal(variance, result.LogProbabilityVariances[t]);
            }
        }

        Assert.Equal(positions.shape[0], row);
    }
}
