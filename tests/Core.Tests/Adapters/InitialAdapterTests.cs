using FedTune.Core.Adapters;

namespace FedTune.Core.Tests.Adapters;

/// <summary>The round-0 adapter the orchestrator creates from the recipe and the base model's config.json.</summary>
public sealed class InitialAdapterTests
{
    private static readonly BaseModelShape Pythia70m = BaseModelShape.FromConfigJson("""
        {"model_type": "gpt_neox", "hidden_size": 512, "intermediate_size": 2048, "num_hidden_layers": 6, "vocab_size": 50304,
         "tie_word_embeddings": false}
        """, "pythia-70m config.json");

    [Fact]
    public void It_is_PEFTs_initialisation_on_the_recipes_targets_with_the_base_models_shapes()
    {
        var config = new LoraAdapterConfig { R = 8, LoraAlpha = 16, TargetModules = ["query_key_value", "dense_4h_to_h"] };
        var adapter = InitialAdapter.Create(Pythia70m, config, seed: 42);

        Assert.Equal(6 * 2 * 2, adapter.Tensors.Count);
        var qkvA = adapter[PeftKeys.GptNeoXLoraA(0)];
        var qkvB = adapter[PeftKeys.GptNeoXLoraB(0)];
        Assert.Equal(new long[] { 8, 512 }, qkvA.Shape);
        Assert.Equal(new long[] { 1536, 8 }, qkvB.Shape);
        Assert.Equal(new long[] { 8, 2048 }, adapter[PeftKeys.GptNeoXLoraA(5, "mlp.dense_4h_to_h")].Shape);
        Assert.Equal(new long[] { 512, 8 }, adapter[PeftKeys.GptNeoXLoraB(5, "mlp.dense_4h_to_h")].Shape);

        // kaiming-uniform(a = sqrt 5) is U(-1/sqrt(in), 1/sqrt(in)); B is zero, so B·A = 0 and round 1 starts at the base model.
        var bound = 1 / Math.Sqrt(512);
        Assert.All(qkvA.Data, v => Assert.InRange(v, -bound, bound));
        Assert.InRange(qkvA.Data.Max(), 0.9 * bound, bound);
        Assert.InRange(qkvA.Data.Average(v => (double)v), -0.01 * bound, 0.01 * bound);
        Assert.All(adapter.Tensors.Where(t => PeftKeys.IsLoraB(t.Name, out _)), t => Assert.All(t.Data, v => Assert.Equal(0f, v)));
    }

    [Fact]
    public void The_run_seed_fixes_every_value_and_another_seed_changes_them()
    {
        var config = new LoraAdapterConfig { R = 4, LoraAlpha = 8 };
        var first = InitialAdapter.Create(Pythia70m, config, 7);
        Assert.Equal(AdapterWireFormat.ToBytes(first), AdapterWireFormat.ToBytes(InitialAdapter.Create(Pythia70m, config, 7)));
        Assert.NotEqual(first[PeftKeys.GptNeoXLoraA(0)].Data, InitialAdapter.Create(Pythia70m, config, 8)[PeftKeys.GptNeoXLoraA(0)].Data);
    }

    [Fact]
    public void An_upload_is_judged_against_the_recipe_and_the_base_model_not_against_another_upload()
    {
        var recipe = new LoraAdapterConfig { R = 8, LoraAlpha = 16 };
        var good = InitialAdapter.Create(Pythia70m, recipe, 1);
        Assert.Null(InitialAdapter.Mismatch(good.Config, good.Tensors.Select(t => (t.Name, t.Shape)), Pythia70m, recipe));

        var rank4 = InitialAdapter.Create(Pythia70m, recipe with { R = 4 }, 1);
        Assert.Contains("rank is 4", InitialAdapter.Mismatch(rank4.Config, rank4.Tensors.Select(t => (t.Name, t.Shape)), Pythia70m, recipe), StringComparison.Ordinal);

        var otherTargets = InitialAdapter.Create(Pythia70m, recipe with { TargetModules = ["dense"] }, 1);
        Assert.Contains("not a LoRA weight of the recipe's target modules",
            InitialAdapter.Mismatch(otherTargets.Config, otherTargets.Tensors.Select(t => (t.Name, t.Shape)), Pythia70m, recipe), StringComparison.Ordinal);

        var wider = BaseModelShape.FromConfigJson("""{"model_type": "gpt_neox", "hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 6, "vocab_size": 50304}""", "x");
        var otherBase = InitialAdapter.Create(wider, recipe, 1);
        Assert.Contains("shape [8, 768]", InitialAdapter.Mismatch(otherBase.Config, otherBase.Tensors.Select(t => (t.Name, t.Shape)), Pythia70m, recipe), StringComparison.Ordinal);
    }

    [Fact]
    public void A_config_json_that_is_not_gpt_neox_or_lacks_a_dimension_is_named_with_the_fix()
    {
        var llama = Assert.Throws<InvalidDataException>(() => BaseModelShape.FromConfigJson("""{"model_type": "llama"}""", "llama/config.json"));
        Assert.Contains("gpt_neox", llama.Message, StringComparison.Ordinal);
        var missing = Assert.Throws<InvalidDataException>(() => BaseModelShape.FromConfigJson("""{"model_type": "gpt_neox", "hidden_size": 8}""", "m/config.json"));
        Assert.Contains("'intermediate_size'", missing.Message, StringComparison.Ordinal);
    }
}
