using FedTune.Training.Modeling;
using Xunit;

namespace FedTune.Training.Tests.Modeling;

public sealed class GptNeoXConfigTests
{
    internal const string Pythia70mConfigJson = """
        {
          "architectures": ["GPTNeoXForCausalLM"],
          "bos_token_id": 0,
          "eos_token_id": 0,
          "hidden_act": "gelu",
          "hidden_size": 512,
          "initializer_range": 0.02,
          "intermediate_size": 2048,
          "layer_norm_eps": 1e-05,
          "max_position_embeddings": 2048,
          "model_type": "gpt_neox",
          "num_attention_heads": 8,
          "num_hidden_layers": 6,
          "rotary_emb_base": 10000,
          "rotary_pct": 0.25,
          "tie_word_embeddings": false,
          "torch_dtype": "float16",
          "transformers_version": "4.24.0",
          "use_cache": true,
          "use_parallel_residual": true,
          "vocab_size": 50304
        }
        """;

    [Fact]
    public void FromJson_reads_every_math_key_of_pythia_70m()
    {
        var config = GptNeoXConfig.FromJson(Pythia70mConfigJson);
        Assert.Equal(512, config.HiddenSize);
        Assert.Equal(8, config.NumAttentionHeads);
        Assert.Equal(6, config.NumHiddenLayers);
        Assert.Equal(2048, config.IntermediateSize);
        Assert.Equal(50304, config.VocabSize);
        Assert.Equal(2048, config.MaxPositionEmbeddings);
        Assert.Equal(64, config.HeadSize);
        Assert.Equal(16, config.RotaryDims);
        Assert.Equal(10000, config.RotaryEmbBase);
        Assert.Equal(1e-5, config.LayerNormEps);
        Assert.True(config.UseParallelResidual);
        Assert.False(config.TieWordEmbeddings);
        Assert.True(config.AttentionBias);
        Assert.Equal(ActivationKind.GeluExact, config.Activation);
        Assert.Equal(0, config.EosTokenId);
    }

    [Fact]
    public void ToJson_round_trips_through_FromJson()
    {
        var config = ModelTestSupport.TinyConfig(rotaryPct: 1.0, parallel: false) with { AttentionBias = false, HiddenAct = "gelu_new" };
        Assert.Equal(config, GptNeoXConfig.FromJson(config.ToJson()));
    }

    [Fact]
    public void FromJson_accepts_the_newer_rope_theta_and_partial_rotary_factor_names()
    {
        var config = GptNeoXConfig.FromJson("""{"model_type":"gpt_neox","hidden_size":64,"num_attention_heads":4,"rope_theta":500.0,"partial_rotary_factor":0.5}""");
        Assert.Equal(500, config.RotaryEmbBase);
        Assert.Equal(8, config.RotaryDims);
    }

    [Theory]
    [InlineData("""{"model_type":"llama","hidden_size":64,"num_attention_heads":4}""", "Unknown architecture")]
    [InlineData("""{"hidden_size":64,"num_attention_heads":4}""", "Unknown architecture")]
    [InlineData("""{"model_type":"gpt_neox","hidden_size":64,"num_attention_heads":4,"rope_scaling":{"type":"linear","factor":2.0}}""", "rope_scaling")]
    [InlineData("""{"model_type":"gpt_neox","hidden_size":64,"num_attention_heads":4,"hidden_act":"silu"}""", "hidden_act 'silu'")]
    [InlineData("""{"model_type":"gpt_neox","hidden_size":64,"num_attention_heads":5}""", "not divisible")]
    [InlineData("""{"model_type":"gpt_neox","hidden_size":64,"num_attention_heads":4,"rotary_pct":0.35}""", "must be even")]
    [InlineData("""{"model_type":"gpt_neox","hidden_size":"big","num_attention_heads":4}""", "hidden_size must be an integer")]
    [InlineData("""{"model_type":"gpt_neox","hidden_size":64,"num_attention_heads":4,"use_parallel_residual":"yes"}""", "use_parallel_residual must be true or false")]
    [InlineData("not json", "not valid JSON")]
    public void FromJson_rejects_what_it_cannot_compute_with_a_clear_message(string json, string expectedMessage)
    {
        var error = Assert.Throws<InvalidDataException>(() => GptNeoXConfig.FromJson(json));
        Assert.Contains(expectedMessage, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_names_the_missing_file()
    {
        var folder = ModelTestSupport.NewTempFolder();
        var error = Assert.Throws<FileNotFoundException>(() => GptNeoXConfig.Load(folder));
        Assert.Contains("config.json", error.Message, StringComparison.Ordinal);
    }
}
