using Xunit;
using FedTune.Training.Data;
using FedTune.Training.Modeling;
using FedTune.Training.Privacy;
using FedTune.Training.Tests.Trainer;
using TorchSharp;
using static TorchSharp.torch;

namespace FedTune.Training.Tests.Privacy;

public sealed class TokenLogProbabilityScorerTests
{
    private static IReadOnlyList<TokenizedExample> Examples() =>
        new AlpacaExampleTokenizer(new ByteTokenizer(), PrivacyTestModels.ShortTemplate, PrivacyTestModels.Tokenization)
            .TokenizeAll(PrivacyTestModels.Records(5, seed: 9));

    [Fact]
    public void Score_sums_to_the_training_loss_and_counts_only_completion_tokens()
    {
        using var model = new GptNeoXForCausalLM(PrivacyTestModels.Config);
        model.InitializeRandom(1);
        var examples = Examples();
        var scores = new TokenLogProbabilityScorer(model, new ByteTokenizer(), new TokenScoringOptions { BatchSize = 2 }).Score(examples);

        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        using var batch = new CausalLmBatchCollator(0).Collate(examples, CPU);
        var expected = CausalLmLoss.SumNll(model.Forward(batch.InputIds, batch.AttentionMask), batch.Labels).item<float>();
        Assert.Equal(expected, -scores.Sum(s => s.LogProbabilities.Sum()), 2);
        Assert.Equal(examples.Select(e => e.ScoredTokenCount), scores.Select(s => s.TokenCount));
        // The scored text is the response (EOS excluded), as the zlib attack needs.
        Assert.Equal(PrivacyTestModels.Records(5, seed: 9)[0].Output, scores[0].Text);
    }

    [Fact]
    public void Score_of_a_record_does_not_depend_on_its_batch_or_padding()
    {
        using var model = new GptNeoXForCausalLM(PrivacyTestModels.Config);
        model.InitializeRandom(2);
        var examples = Examples();
        var batched = new TokenLogProbabilityScorer(model, new ByteTokenizer(), new TokenScoringOptions { BatchSize = 5 }).Score(examples);
        var alone = new TokenLogProbabilityScorer(model, new ByteTokenizer(), new TokenScoringOptions { BatchSize = 1, PositionChunk = 3 }).Score(examples);
        for (var i = 0; i < examples.Count; i++)
        {
            for (var t = 0; t < batched[i].TokenCount; t++)
            {
                Assert.Equal(alone[i].LogProbabilities[t], batched[i].LogProbabilities[t], 4);
                Assert.Equal(alone[i].ExpectedLogProbabilities[t], batched[i].ExpectedLogProbabilities[t], 4);
                Assert.Equal(alone[i].LogProbabilityVariances[t], batched[i].LogProbabilityVariances[t], 3);
            }
        }
    }

    [Fact]
    public void Score_gives_the_mean_and_variance_of_log_p_under_the_next_token_distribution()
    {
        using var model = new GptNeoXForCausalLM(PrivacyTestModels.Config);
        model.InitializeRandom(4);
        var example = Examples()[0];
        var score = new TokenLogProbabilityScorer(model, new ByteTokenizer()).Score([example])[0];

        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var logits = model.Forward(torch.tensor(example.InputIds.Select(i => (long)i).ToArray(), [1, example.InputIds.Length]), null);
        var firstScored = Array.FindIndex(example.Labels, 1, l => l != TokenizedExample.IgnoreIndex);
        var logProbs = nn.functional.log_softmax(logits[0, firstScored - 1].to(ScalarType.Float64), 0).data<double>().ToArray();
        var mean = logProbs.Sum(lp => Math.Exp(lp) * lp);
        var variance = logProbs.Sum(lp => Math.Exp(lp) * (lp - mean) * (lp - mean));
        Assert.Equal(logProbs[example.Labels[firstScored]], score.LogProbabilities[0], 4);
        Assert.Equal(mean, score.ExpectedLogProbabilities[0], 4);
        Assert.Equal(variance, score.LogProbabilityVariances[0], 3);
    }

    [Fact]
    public void Score_rejects_an_example_without_scored_tokens()
    {
        using var model = new GptNeoXForCausalLM(PrivacyTestModels.Config);
        var error = Assert.Throws<ArgumentException>(() =>
            new TokenLogProbabilityScorer(model, new ByteTokenizer()).Score([new TokenizedExample([5, 6], [TokenizedExample.IgnoreIndex, TokenizedExample.IgnoreIndex])]));
        Assert.Contains("Record 0 has no scored tokens", error.Message, StringComparison.Ordinal);
    }
}
