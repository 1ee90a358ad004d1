using FedTune.Core.Privacy;

namespace FedTune.Core.Tests.Privacy;

public sealed class AttackScoringTests
{
    private static TokenLogProbabilities Record(float[] logProbs, float[]? mu = null, float[]? variance = null, string text = "text") =>
        new(text, logProbs, mu ?? new float[logProbs.Length], variance ?? Enumerable.Repeat(1f, logProbs.Length).ToArray());

    [Fact]
    public void Loss_is_the_negative_mean_nll()
    {
        Assert.Equal(-2.0, AttackScoring.Loss(Record([-1f, -2f, -3f])), 6);
    }

    [Fact]
    public void ReferenceCalibratedLoss_is_reference_nll_minus_target_nll()
    {
        // Target mean NLL 1, reference mean NLL 3: fine-tuning lowered this record's loss by 2 nats.
        Assert.Equal(2.0, AttackScoring.ReferenceCalibratedLoss(Record([-1f, -1f]), Record([-2f, -4f])), 6);
    }

    [Fact]
    public void Zlib_divides_the_mean_log_likelihood_by_the_compressed_length()
    {
        const string text = "The patient presented with fever and cough.";
        var record = Record([-1f, -3f], text: text);
        Assert.Equal(-2.0 / AttackScoring.ZlibLength(text), AttackScoring.Zlib(record), 9);
    }

    [Fact]
    public void ZlibLength_is_small_for_repetitive_text_and_large_for_random_text()
    {
        var repetitive = string.Concat(Enumerable.Repeat("abcd", 250));
        var random = new Random(5);
        var noise = new string(Enumerable.Range(0, 1000).Select(_ => (char)random.Next(33, 127)).ToArray());
        Assert.InRange(AttackScoring.ZlibLength(repetitive), 6, 40);
        Assert.InRange(AttackScoring.ZlibLength(noise), 700, 1100);
    }

    [Theory]
    [InlineData(0.2, -9.0)]          // floor(0.2 * 10) = 2 lowest: (-10 + -8) / 2
    [InlineData(0.05, -10.0)]        // floor(0.5) = 0 -> at least one token
    [InlineData(0.5, -6.0)]          // 5 lowest: (-10 -8 -6 -4 -2) / 5
    [InlineData(1.0, -3.3)]          // all ten: -33 / 10
    public void MinK_averages_the_lowest_fraction_of_token_log_probabilities(double fraction, double expected)
    {
        float[] logProbs = [0f, -2f, -4f, -6f, -8f, -10f, -0.5f, -1.5f, -0.25f, -0.75f];
        // Sorted: -10 -8 -6 -4 -2 -1.5 -0.75 -0.5 -0.25 0; the mean of all ten is -33 / 10 = -3.3.
        Assert.Equal(expected, AttackScoring.MinK(Record(logProbs), fraction), 6);
    }

    [Fact]
    public void MinKPlusPlus_standardises_by_the_next_token_distribution_before_taking_the_lowest()
    {
        // Token 1: (-1 - -3) / 2 = 1; token 2: (-5 - -4) / 1 = -1; token 3: (-2 - -2) / 4 = 0; token 4: (-6 - -2) / 2 = -2.
        var record = Record([-1f, -5f, -2f, -6f], mu: [-3f, -4f, -2f, -2f], variance: [4f, 1f, 16f, 4f]);
        Assert.Equal(-2.0, AttackScoring.MinKPlusPlus(record, 0.25), 6);
        Assert.Equal(-1.5, AttackScoring.MinKPlusPlus(record, 0.5), 6);
        Assert.Equal(-0.5, AttackScoring.MinKPlusPlus(record, 1.0), 6);
    }

    [Fact]
    public void Scores_reject_records_without_scored_tokens_with_a_clear_message()
    {
        var empty = Record([]);
        var error = Assert.Throws<InvalidOperationException>(() => AttackScoring.Loss(empty));
        Assert.Contains("no scored tokens", error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => AttackScoring.MinK(empty));
        Assert.Throws<ArgumentOutOfRangeException>(() => AttackScoring.MinK(Record([-1f]), 0));
    }
}
