using FedTune.Core.Configuration;
using FedTune.TestSupport;
using FedTune.Training.Evaluation;
using FedTune.Training.Tests.Modeling;
using Xunit;

namespace FedTune.Training.Tests.Evaluation;

/// <summary>
/// Pre-tokenized <c>{"input_ids"}</c> lines of different lengths score the same in one padded batch as one by one:
/// an example's first token is never scored from a pad position, on either padding side.
/// </summary>
public sealed class PaddedPreTokenizedScoringTests : IDisposable
{
    private readonly TempDirectory _folder = new("fedtune-padded-eval");

    public void Dispose() => _folder.Dispose();

    [Theory]
    [InlineData(PaddingSide.Left)]
    [InlineData(PaddingSide.Right)]
    public void One_padded_batch_and_one_record_at_a_time_give_the_same_mean_nll(PaddingSide side)
    {
        var path = _folder.WriteFile("ids.jsonl",
            "{\"input_ids\": [5, 17, 3, 9, 30, 2, 11]}\n{\"input_ids\": [8, 4]}\n{\"input_ids\": [21, 6, 6, 13]}\n{\"input_ids\": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12]}\n");
        var examples = EvaluationDataset.Load(path, tokenizer: null);
        using var model = ModelTestSupport.TinyModel(seed: 3);

        var batched = new CausalLmEvaluator(model, padTokenId: 0, batchSize: 4, side).Evaluate(examples);
        var alone = new CausalLmEvaluator(model, padTokenId: 0, batchSize: 1, side).Evaluate(examples);

        Assert.Equal(6 + 1 + 3 + 10, batched.Tokens);
        Assert.Equal(alone.Tokens, batched.Tokens);
        Assert.Equal(alone.MeanNll, batched.MeanNll, 4); // float32 summation order only (before the fix a left-padded line's first token was scored from a pad)
    }
}
