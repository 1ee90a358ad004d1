using FedTune.Core.Configuration;
using FedTune.Training.Quantization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FedTune.Training.Modeling;

/// <summary>
/// One GPT-NeoX block: parallel residual x + attn(ln1(x)) + mlp(ln2(x)) when use_parallel_residual, otherwise
/// h = x + attn(ln1(x)); h + mlp(ln2(h)).
/// </summary>
public sealed class GptNeoXLayer : nn.Module
{
    private readonly GptNeoXConfig _config;
    private readonly LayerNorm _inputLayerNorm;
    private readonly LayerNorm _postAttentionLayerNorm;
    private readonly GptNeoXAttention _attention;
    private readonly GptNeoXMlp _mlp;

    public GptNeoXLayer(GptNeoXConfig config, BaseQuantization storage, Device device, ScalarType dtype)
        : base("GPTNeoXLayer")
    {
        _config = config;
        _inputLayerNorm = nn.LayerNorm(config.HiddenSize, config.LayerNormEps, device: device, dtype: dtype);
        _postAttentionLayerNorm = nn.LayerNorm(config.HiddenSize, config.LayerNormEps, device: device, dtype: dtype);
        _attention = new GptNeoXAttention(config, storage, device, dtype);
        _mlp = new GptNeoXMlp(config, storage, device, dtype);
        register_module("input_layernorm", _inputLayerNorm);
        register_module("post_attention_layernorm", _postAttentionLayerNorm);
        register_module("attention", _attention);
        register_module("mlp", _mlp);
    }

    public GptNeoXAttention Attention => _attention;
    public LayerNorm InputLayerNorm => _inputLayerNorm;
    public LayerNorm PostAttentionLayerNorm => _postAttentionLayerNorm;
    public GptNeoXMlp Mlp => _mlp;

    /// <summary>The block's base Linear layers in the order its forward calls them.</summary>
    public IReadOnlyList<AdaptableLinear> Projections =>
        [_attention.QueryKeyValue, _attention.Dense, _mlp.DenseHTo4H, _mlp.Dense4HToH];

    public Tensor Forward(Tensor hidden, Tensor cos, Tensor sin, Tensor? additiveMask, KeyValueCache? cache, int layerIndex)
    {
        using var scope = torch.NewDisposeScope();
        double dropout = training ? _config.HiddenDropout : 0.0;
        var attention = _attention.Forward(_inputLayerNorm.forward(hidden), cos, sin, additiveMask, cache, layerIndex);
        if (dropout > 0) attention = nn.functional.dropout(attention, dropout, true);
        Tensor output;
        if (_config.UseParallelResidual)
        {
            var mlp = _mlp.forward(_postAttentionLayerNorm.forward(hidden));
            if (dropout > 0) mlp = nn.functional.dropout(mlp, dropout, true);
            output = mlp + attention + hidden;
        }
        else
        {
            var afterAttention = attention + hidden;
            var mlp = _mlp.forward(_postAttentionLayerNorm.forward(afterAttention));
            if (dropout > 0) mlp = nn.functional.dropout(mlp, dropout, true);
            output = mlp + afterAttention;
        }

        return output.MoveToOuterDisposeScope();
    }
}
