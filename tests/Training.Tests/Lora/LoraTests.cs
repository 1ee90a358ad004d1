using FedTune.Core.Adapters;
using FedTune.Training.Lora;
using FedTune.Training.Modeling;
using FedTune.Training.Tests.Modeling;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FedTune.Training.Tests.Lora;

public sealed class LoraTests
{
    private static readonly LoraAdapterConfig Config = new() { R = 4, LoraAlpha = 16, LoraDropout = 0.0 };

    private static Tensor Logits(GptNeoXForCausalLM model, long seed = 21)
    {
        using var noGrad = torch.no_grad();
        return model.Forward(ModelTestSupport.RandomIds(2, 6, model.VocabularySize, seed), null);
    }

    private static void RandomizeB(GptNeoXForCausalLM model, long seed)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var generator = new Generator((ulong)seed);
        foreach (var (name, p) in model.AllAdapterWeights().Where(p => p.Key.Contains("lora_B", StringComparison.Ordinal)))
            p.copy_(torch.randn(p.shape, generator: generator) * 0.3f);
    }

    [Fact]
    public void Apply_with_null_target_modules_wraps_query_key_value_with_PEFT_names_and_shapes()
    {
        using var model = ModelTestSupport.TinyModel();
        var wrapped = LoraInjector.Apply(model, Config, seed: 1);
        Assert.Equal(["gpt_neox.layers.0.attention.query_key_value", "gpt_neox.layers.1.attention.query_key_value"], wrapped);
        var shapes = model.AdapterParameters.ToDictionary(p => p.Key, p => string.Join("x", p.Value.shape));
        Assert.Equal(new Dictionary<string, string>
        {
            ["base_model.model.gpt_neox.layers.0.attention.query_key_value.lora_A.weight"] = "4x32",
            ["base_model.model.gpt_neox.layers.0.attention.query_key_value.lora_B.weight"] = "96x4",
            ["base_model.model.gpt_neox.layers.1.attention.query_key_value.lora_A.weight"] = "4x32",
            ["base_model.model.gpt_neox.layers.1.attention.query_key_value.lora_B.weight"] = "96x4",
        }, shapes);
        Assert.Equal(4.0, model.Backbone.Layers[0].Attention.QueryKeyValue.LoraScaling);
    }

    [Fact]
    public void Fresh_adapters_leave_the_logits_unchanged_and_A_is_kaiming_uniform()
    {
        using var model = ModelTestSupport.TinyModel();
        using var scope = torch.NewDisposeScope();
        var before = Logits(model);
        LoraInjector.Apply(model, Config, seed: 1);
        Assert.Equal(0.0, ModelTestSupport.MaxRelativeError(Logits(model), before));
        var a = model.Backbone.Layers[0].Attention.QueryKeyValue.LoraA!;
        double bound = 1 / Math.Sqrt(32);
        Assert.True(a.abs().max().item<float>() <= bound);
        Assert.True(a.abs().max().item<float>() > bound * 0.8, "A should spread over U(-1/sqrt(in), 1/sqrt(in))");
        Assert.Equal(0f, model.Backbone.Layers[0].Attention.QueryKeyValue.LoraB!.abs().sum().item<float>());
    }

    [Theory]
    [InlineData(new[] { "dense" }, new[] { "attention.dense" })]
    [InlineData(new[] { "query_key_value", "dense_4h_to_h" }, new[] { "attention.query_key_value", "mlp.dense_4h_to_h" })]
    [InlineData(new[] { "mlp.dense_h_to_4h" }, new[] { "mlp.dense_h_to_4h" })]
    public void Target_modules_match_like_PEFT_by_exact_dotted_suffix(string[] targets, string[] expectedPerLayer)
    {
        using var model = ModelTestSupport.TinyModel();
        var wrapped = LoraInjector.Apply(model, Config with { TargetModules = targets }, seed: 1);
        var expected = Enumerable.Range(0, 2).SelectMany(i => expectedPerLayer.Select(m => $"gpt_neox.layers.{i}.{m}"))
            .Order(StringComparer.Ordinal);
        Assert.Equal(expected, wrapped.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Layers_to_transform_and_patterns_restrict_the_targets_and_unknown_targets_fail()
    {
        using var model = ModelTestSupport.TinyModel();
        Assert.Equal(["gpt_neox.layers.1.attention.query_key_value"],
            LoraInjector.Apply(model, Config with { LayersToTransform = [1] }, seed: 1));
        using var other = ModelTestSupport.TinyModel();
        Assert.Equal(["gpt_neox.layers.0.mlp.dense_4h_to_h"],
            LoraInjector.Apply(other, Config with { TargetModulesPattern = @".*layers\.0\.mlp\.dense_4h.*" }, seed: 1));
        using var third = ModelTestSupport.TinyModel();
        var error = Assert.Throws<ArgumentException>(() => LoraInjector.Apply(third, Config with { TargetModules = ["q_proj"] }, seed: 1));
        Assert.Contains("q_proj", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Only_adapter_parameters_receive_gradients()
    {
        using var model = ModelTestSupport.TinyModel();
        LoraInjector.Apply(model, Config, seed: 1);
        RandomizeB(model, 3);
        model.SetTraining(true);
        using var scope = torch.NewDisposeScope();
        var logits = model.Forward(ModelTestSupport.RandomIds(2, 6, model.VocabularySize, 4), null);
        logits.square().mean().backward();
        foreach (var (name, p) in model.named_parameters())
        {
            bool adapter = name.Contains(".lora_", StringComparison.Ordinal);
            Assert.Equal(adapter, p.requires_grad);
            if (adapter) Assert.True(p.grad is not null && p.grad.abs().sum().item<float>() > 0, $"{name} got no gradient");
            else Assert.True(p.grad is null, $"{name} is frozen but got a gradient");
        }
    }

    [Fact]
    public void Merge_gives_the_same_logits_and_Unmerge_restores_the_base_weight()
    {
        using var model = ModelTestSupport.TinyModel();
        LoraInjector.Apply(model, Config with { TargetModules = ["query_key_value", "dense_h_to_4h"] }, seed: 1);
        RandomizeB(model, 5);
        using var scope = torch.NewDisposeScope();
        var baseWeight = model.Backbone.Layers[0].Attention.QueryKeyValue.Weight!.clone();
        var unmerged = Logits(model);
        LoraAdapterExchange.MergeAll(model);
        Assert.True(ModelTestSupport.MaxRelativeError(Logits(model), unmerged) < 1e-5);
        Assert.True(ModelTestSupport.MaxRelativeError(model.Backbone.Layers[0].Attention.QueryKeyValue.Weight!, baseWeight) > 1e-3);
        LoraAdapterExchange.UnmergeAll(model);
        Assert.True(ModelTestSupport.MaxRelativeError(model.Backbone.Layers[0].Attention.QueryKeyValue.Weight!, baseWeight) < 1e-6);
        Assert.True(ModelTestSupport.MaxRelativeError(Logits(model), unmerged) < 1e-5);
    }

    [Fact]
    public void Export_then_Attach_through_a_PEFT_folder_reproduces_the_adapted_logits()
    {
        using var model = ModelTestSupport.TinyModel(seed: 9);
        LoraInjector.Apply(model, Config with { TargetModules = ["query_key_value", "dense"] }, seed: 1);
        RandomizeB(model, 6);
        var folder = ModelTestSupport.NewTempFolder();
        PeftAdapterFolder.Save(folder, LoraAdapterExchange.Export(model, Config with { TargetModules = ["query_key_value", "dense"] }));
        var loaded = PeftAdapterFolder.Load(folder);
        Assert.Contains("base_model.model.gpt_neox.layers.1.attention.dense.lora_B.weight", loaded.Names);

        using var fresh = ModelTestSupport.TinyModel(seed: 9);
        LoraAdapterExchange.Attach(fresh, loaded);
        using var scope = torch.NewDisposeScope();
        Assert.True(ModelTestSupport.MaxRelativeError(Logits(fresh), Logits(model)) < 1e-6);
    }

    [Fact]
    public void Merged_export_loads_as_a_plain_model_with_the_adapted_logits()
    {
        using var model = ModelTestSupport.TinyModel(seed: 9);
        LoraInjector.Apply(model, Config, seed: 1);
        RandomizeB(model, 8);
        var folder = ModelTestSupport.NewTempFolder();
        HuggingFaceModelWriter.Save(model, folder, mergeLora: true);
        using var merged = HuggingFaceModelLoader.Load(folder);
        using var scope = torch.NewDisposeScope();
        Assert.Empty(merged.AllAdapterWeights());
        Assert.True(ModelTestSupport.MaxRelativeError(Logits(merged), Logits(model)) < 1e-5);
    }

    [Fact]
    public void Freeze_A_draws_the_same_A_on_every_client_and_trains_only_B()
    {
        using var first = ModelTestSupport.TinyModel();
        using var second = ModelTestSupport.TinyModel();
        LoraInjector.Apply(first, Config, seed: 1, freezeA: true, sharedASeed: 42);
        LoraInjector.Apply(second, Config, seed: 2, freezeA: true, sharedASeed: 42);
        using var scope = torch.NewDisposeScope();
        var a1 = first.Backbone.Layers[1].Attention.QueryKeyValue.LoraA!;
        var a2 = second.Backbone.Layers[1].Attention.QueryKeyValue.LoraA!;
        Assert.True(a1.equal(a2).all().item<bool>());
        Assert.False(a1.requires_grad);
        Assert.All(first.AdapterParameters.Keys, k => Assert.Contains("lora_B", k, StringComparison.Ordinal));
        Assert.Equal(4, LoraAdapterExchange.Export(first, Config).Tensors.Count);
    }

    [Fact]
    public void Import_names_a_misshaped_adapter_tensor()
    {
        using var model = ModelTestSupport.TinyModel();
        LoraInjector.Apply(model, Config, seed: 1);
        var adapter = LoraAdapterExchange.Export(model, Config);
        using var other = ModelTestSupport.TinyModel();
        LoraInjector.Apply(other, Config with { R = 2 }, seed: 1);
        var error = Assert.Throws<InvalidDataException>(() => LoraAdapterExchange.Import(other, adapter));
        Assert.Contains("lora_A.weight' has shape [4, 32] but the model expects [2, 32]", error.Message, StringComparison.Ordinal);
    }
}
