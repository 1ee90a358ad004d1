using FedTune.Core.Configuration;
using FedTune.TestSupport;
using Xunit;

namespace FedTune.Core.Tests.Configuration;

/// <summary><c>train.eval_every_rounds</c> and <c>train.eval_max_examples</c>: recipe keys with their bounds, and which rounds evaluate.</summary>
public sealed class EvaluationCadenceConfigTests
{
    private static TrainingRecipe Parse(string extra) =>
        FedTuneConfigLoader.Parse(SeedConfigYaml.Nested.Replace("  seq_length: 512", "  seq_length: 512\n" + extra, StringComparison.Ordinal), "run.yaml").Recipe;

    [Fact]
    public void By_default_every_round_evaluates_within_the_agents_own_limit()
    {
        var recipe = FedTuneConfigLoader.Parse(SeedConfigYaml.Nested, "run.yaml").Recipe;
        Assert.Equal(1, recipe.EvalEveryRounds);
        Assert.Null(recipe.EvalMaxExamples);
        Assert.All(Enumerable.Range(1, 5), r => Assert.True(recipe.EvaluatesInRound(r, 5)));
    }

    [Fact]
    public void Every_k_rounds_evaluates_rounds_k_2k_and_the_last_and_0_never()
    {
        var every3 = Parse("  eval_every_rounds: 3\n  eval_max_examples: 20");
        Assert.Equal(20, every3.EvalMaxExamples);
        Assert.Equal([3, 6, 7], Enumerable.Range(1, 7).Where(r => every3.EvaluatesInRound(r, 7)));
        var never = Parse("  eval_every_rounds: 0");
        Assert.DoesNotContain(Enumerable.Range(1, 7), r => never.EvaluatesInRound(r, 7));
    }

    [Theory]
    [InlineData("  eval_every_rounds: -1", "eval_every_rounds")]
    [InlineData("  eval_max_examples: 0", "eval_max_examples")]
    public void Out_of_range_values_are_refused_naming_the_key(string extra, string key)
    {
        var error = Assert.Throws<ConfigException>(() => Parse(extra));
        Assert.Contains(key, error.Message, StringComparison.Ordinal);
    }
}
