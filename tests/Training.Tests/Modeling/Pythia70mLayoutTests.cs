using FedTune.Training.Modeling;
using Xunit;

namespace FedTune.Training.Tests.Modeling;

/// <summary>Guards the state-dict names and shapes against Hugging Face's pythia-70m (70,426,624 parameters).</summary>
public sealed class Pythia70mLayoutTests
{
    private static List<string> HuggingFaceKeys()
    {
        var keys = new List<string> { "gpt_neox.embed_in.weight [50304, 512]" };
        for (int i = 0; i < 6; i++)
        {
            keys.AddRange(
            [
                $"gpt_neox.layers.{i}.input_layernorm.weight [512]",
                $"gpt_neox.layers.{i}.input_layernorm.bias [512]",
                $"gpt_neox.layers.{i}.post_attention_layernorm.weight [512]",
                $"gpt_neox.layers.{i}.post_attention_layernorm.bias [512]",
                $"gpt_neox.layers.{i}.attention.query_key_value.weight [1536, 512]",
                $"gpt_neox.layers.{i}.attention.query_key_value.bias [1536]",
                $"gpt_neox.layers.{i}.attention.dense.weight [512, 512]",
                $"gpt_neox.layers.{i}.attention.dense.bias [512]",
                $"gpt_neox.layers.{i}.mlp.dense_h_to_4h.weight [2048, 512]",
                $"gpt_neox.layers.{i}.mlp.dense_h_to_4h.bias [2048]",
                $"gpt_neox.layers.{i}.mlp.dense_4h_to_h.weight [512, 2048]",
                $"gpt_neox.layers.{i}.mlp.dense_4h_to_h.bias [512]",
            ]);
        }

        keys.Add("gpt_neox.final_layer_norm.weight [512]");
        keys.Add("gpt_neox.final_layer_norm.bias [512]");
        keys.Add("embed_out.weight [50304, 512]");
        return keys;
    }

    [Fact]
    public void Layout_of_pythia_70m_lists_every_HF_key_and_shape_in_order()
    {
        var config = GptNeoXConfig.FromJson(GptNeoXConfigTests.Pythia70mConfigJson);
        var layout = GptNeoXStateDictLayout.Describe(config);
        Assert.Equal(HuggingFaceKeys(), layout.Select(e => e.ToString()).ToList());
        Assert.Equal(70_426_624L, layout.Sum(e => e.Shape.Aggregate(1L, (a, b) => a * b)));
    }

    [Fact]
    public void Model_parameters_and_weight_slots_carry_exactly_the_HF_names_and_shapes()
    {
        var config = GptNeoXConfig.FromJson(GptNeoXConfigTests.Pythia70mConfigJson);
        using var model = new GptNeoXForCausalLM(config);
        var parameters = model.named_parameters().Select(p => $"{p.name} [{string.Join(", ", p.parameter.shape)}]").ToList();
        Assert.Equal(HuggingFaceKeys().Order(StringComparer.Ordinal), parameters.Order(StringComparer.Ordinal));
        Assert.Equal(HuggingFaceKeys(), model.WeightSlots().Select(s => $"{s.Name} [{string.Join(", ", s.Shape)}]").ToList());
        Assert.Equal(70_426_624L * 4, model.BaseModelBytes());
    }
}
