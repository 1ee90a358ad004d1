using FedTune.Core.Configuration;
using FedTune.Training.Quantization;
using TorchSharp;
using static TorchSharp.torch;

namespace FedTune.Training.Modeling;

/// <summary>
/// GPT-NeoX self-attention as in Hugging Face <c>GPTNeoXAttention</c>: the fused <c>query_key_value</c> output viewed as
/// [B, T, heads, 3·head_size] and split per head into q, k, v; rotary embedding on the first rotary_ndims of q and k;
/// softmax(q·kᵀ / sqrt(head_size) + mask)·v; heads merged and projected by <c>dense</c>.
/// </summary>
public sealed class GptNeoXAttention : nn.Module
{
    private readonly GptNeoXConfig _config;
    private readonly AdaptableLinear _queryKeyValue;
    private readonly AdaptableLinear _dense;

    public GptNeoXAttention(GptNeoXConfig config, BaseQuantization storage, Device device, ScalarType dtype)
        : base("GPTNeoXAttention")
    {
        _config = config;
        _queryKeyValue = new AdaptableLinear("query_key_value", config.HiddenSize, 3L * config.HiddenSize, config.AttentionBias, storage, device, dtype);
        _dense = new AdaptableLinear("dense", config.HiddenSize, config.HiddenSize, config.AttentionBias, storage, device, dtype);
        register_module("query_key_value", _queryKeyValue);
        register_module("dense", _dense);
    }

    public AdaptableLinear QueryKeyValue => _queryKeyValue;
    public AdaptableLinear Dense => _dense;

    /// <param name="hidden">[B, T, hidden]</param>
    /// <param name="cos">[B, 1, T, rotary_ndims]</param>
    /// <param name="sin">[B, 1, T, rotary_ndims]</param>
    /// <param name="additiveMask">[B, 1, T, S] (0 allowed, dtype minimum masked) or null for plain causal attention without cache.</param>
    /// <param name="cache">Past keys/values of this layer, extended in place, or null.</param>
    /// <param name="layerIndex">Index of this layer in the cache.</param>
    public Tensor Forward(Tensor hidden, Tensor cos, Tensor sin, Tensor? additiveMask, KeyValueCache? cache, int layerIndex)
    {
        using var scope = torch.NewDisposeScope();
        long batch = hidden.shape[0], time = hidden.shape[1];
        int heads = _config.NumAttentionHeads, headSize = _config.HeadSize, rot = _config.RotaryDims;

        var qkv = _queryKeyValue.forward(hidden).view(batch, time, heads, 3 * headSize);
        var query = qkv.narrow(-1, 0, headSize).permute(0, 2, 1, 3);
        var key = qkv.narrow(-1, headSize, headSize).permute(0, 2, 1, 3);
        var value = qkv.narrow(-1, 2 * headSize, headSize).permute(0, 2, 1, 3);

        if (rot > 0)
        {
            query = ApplyRotary(query, cos, sin, rot, headSize);
            key = ApplyRotary(key, cos, sin, rot, headSize);
        }

        if (cache is not null)
        {
            var (pastKey, pastValue) = cache.Get(layerIndex);
            if (pastKey is not null && pastValue is not null)
            {
                key = torch.cat([pastKey, key], 2);
                value = torch.cat([pastValue, value], 2);
            }

            cache.Set(layerIndex, key, value);
        }

        double dropout = training ? _config.AttentionDropout : 0.0;
        var attended = additiveMask is null
            ? nn.functional.scaled_dot_product_attention(query.contiguous(), key.contiguous(), value.contiguous(), p: dropout, is_casual: true)
            : nn.functional.scaled_dot_product_attention(query.contiguous(), key.contiguous(), value.contiguous(), additiveMask, dropout);
        var merged = attended.permute(0, 2, 1, 3).reshape(batch, time, heads * (long)headSize);
        return _dense.forward(merged).MoveToOuterDisposeScope();
    }

    private static Tensor ApplyRotary(Tensor x, Tensor cos, Tensor sin, int rot, int headSize)
    {
        var xRot = x.narrow(-1, 0, rot);
        var half = rot / 2;
        var rotated = torch.cat([-xRot.narrow(-1, half, half), xRot.narrow(-1, 0, half)], -1);
        var embedded = (xRot * cos) + (rotated * sin);
        return rot == headSize ? embedded : torch.cat([embedded, x.narrow(-1, rot, headSize - rot)], -1);
    }
}
