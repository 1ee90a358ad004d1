using FedTune.Core.Configuration;
using FedTune.Training.Quantization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FedTune.Training.Modeling;

/// <summary>Hugging Face's <c>GPTNeoXModel</c> (state-dict prefix <c>gpt_neox.</c>): embed_in, layers, final_layer_norm.</summary>
public sealed class GptNeoXBackbone : nn.Module
{
    private readonly GptNeoXConfig _config;
    private readonly Embedding _embedIn;
    private readonly ModuleList<GptNeoXLayer> _layers;
    private readonly LayerNorm _finalLayerNorm;
    private readonly GptNeoXLayer[] _layerList;
    private readonly Tensor _inverseFrequencies;

    public GptNeoXBackbone(GptNeoXConfig config, BaseQuantization storage, Device device, ScalarType dtype)
        : base("GPTNeoXModel")
    {
        _config = config;
        _embedIn = nn.Embedding(config.VocabSize, config.HiddenSize, device: device, dtype: dtype);
        _layerList = Enumerable.Range(0, config.NumHiddenLayers)
            .Select(_ => new GptNeoXLayer(config, storage, device, dtype)).ToArray();
        _layers = nn.ModuleList(_layerList);
        _finalLayerNorm = nn.LayerNorm(config.HiddenSize, config.LayerNormEps, device: device, dtype: dtype);
        register_module("embed_in", _embedIn);
        register_module("layers", _layers);
        register_module("final_layer_norm", _finalLayerNorm);
        // HF: inv_freq = 1 / base ** (arange(0, dim, 2).float() / dim), kept in float32 (not a state-dict entry here).
        int rot = Math.Max(config.RotaryDims, 2);
        _inverseFrequencies = (1.0 / torch.pow(config.RotaryEmbBase,
            torch.arange(0, rot, 2, dtype: ScalarType.Int64, device: device).to(ScalarType.Float32) / rot)).DetachFromDisposeScope();
    }

    public Embedding EmbedIn => _embedIn;
    public IReadOnlyList<GptNeoXLayer> Layers => _layerList;
    public LayerNorm FinalLayerNorm => _finalLayerNorm;

    /// <summary>Recompute each block's activations in backward instead of keeping them (training only).</summary>
    public bool GradientCheckpointing { get; set; }

    /// <summary>
    /// With <see cref="GradientCheckpointing"/>, keep each block's frozen base projection outputs (query_key_value, dense,
    /// dense_h_to_4h, dense_4h_to_h) from the forward and reuse them in the recomputation instead of redoing those
    /// matmuls (true, the default: selective checkpointing); false recomputes the whole block as PyTorch's checkpoint does.
    /// </summary>
    public bool CheckpointKeepsProjections { get; set; } = true;

    /// <summary>What the checkpointed blocks did since the model was built (probes for reports and tests).</summary>
    public CheckpointCounters Checkpointing { get; } = new();

    /// <summary>
    /// Hidden states after the final layer norm. <paramref name="attentionMask"/> covers cached plus new tokens
    /// ([B, past + T]) or is null when nothing is padded.
    /// </summary>
    public Tensor Forward(Tensor inputIds, Tensor? attentionMask, KeyValueCache? cache)
    {
        using var scope = torch.NewDisposeScope();
        long batch = inputIds.shape[0], time = inputIds.shape[1];
        long past = cache?.Length ?? 0;
        var device = inputIds.device;
        var dtype = _embedIn.weight!.dtype;

        Tensor positions;
        Tensor? additiveMask = null;
        if (attentionMask is null && past == 0)
        {
            positions = torch.arange(0, time, dtype: ScalarType.Int64, device: device).unsqueeze(0).expand(batch, time);
        }
        else
        {
            var mask = attentionMask?.to(ScalarType.Int64, device)
                ?? torch.ones(batch, past + time, dtype: ScalarType.Int64, device: device);
            if (mask.shape[1] != past + time)
                throw new ArgumentException(
                    $"The attention mask has {mask.shape[1]} columns but {past} cached plus {time} new tokens were given.", nameof(attentionMask));
            // As transformers' generate does: position = cumsum(mask) - 1, padded slots set to 1.
            var cumulative = mask.cumsum(1) - 1;
            positions = cumulative.masked_fill(mask.eq(0), 1).narrow(1, past, time);
            additiveMask = BuildAdditiveMask(mask, past, time, dtype);
        }

        var freqs = positions.to(ScalarType.Float32).unsqueeze(-1) * _inverseFrequencies;
        var embedding = torch.cat([freqs, freqs], -1);
        var cos = embedding.cos().to(dtype).unsqueeze(1);
        var sin = embedding.sin().to(dtype).unsqueeze(1);

        var hidden = _embedIn.forward(inputIds);
        if (training && _config.HiddenDropout > 0)
            hidden = nn.functional.dropout(hidden, _config.HiddenDropout, true);

        bool checkpoint = GradientCheckpointing && training && cache is null && torch.is_grad_enabled();
        // Like transformers' enable_input_require_grads: with a frozen embedding the first block's input needs a grad
        // for the checkpointed blocks to join the graph, or the adapters inside them would get no gradient.
        if (checkpoint && !hidden.requires_grad)
            hidden = hidden.detach().requires_grad_(true);
        var shared = checkpoint ? new SharedCheckpointTensors(_layerList.Length, cos, sin, additiveMask) : null;
        if (checkpoint) Checkpointing.BlockPasses += _layerList.Length;
        for (int i = 0; i < _layerList.Length; i++)
        {
            var layer = _layerList[i];
            int index = i;
            hidden = shared is not null
                ? LayerCheckpointFunction.Run(hidden, x => layer.Forward(x, shared[0]!, shared[1]!, shared[2], null, index), shared,
                    CheckpointKeepsProjections ? new FrozenProjectionOutputs(layer.Projections, Checkpointing) : null)
                : layer.Forward(hidden, cos, sin, additiveMask, cache, index);
        }

        return _finalLayerNorm.forward(hidden).MoveToOuterDisposeScope();
    }

    /// <summary>[B, 1, T, past+T]: 0 where key j is at or before the query and not padding, the dtype's minimum elsewhere.</summary>
    private static Tensor BuildAdditiveMask(Tensor mask, long past, long time, ScalarType dtype)
    {
        long total = past + time;
        var device = mask.device;
        var queryPositions = torch.arange(past, total, dtype: ScalarType.Int64, device: device).unsqueeze(1);
        var keyPositions = torch.arange(0, total, dtype: ScalarType.Int64, device: device).unsqueeze(0);
        var causal = keyPositions.le(queryPositions).unsqueeze(0);
        var allowed = causal.logical_and(mask.ne(0).unsqueeze(1)).unsqueeze(1);
        var minimum = torch.finfo(dtype).min;
        return torch.zeros(allowed.shape, dtype: dtype, device: device).masked_fill(allowed.logical_not(), minimum);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _inverseFrequencies.Dispose();
        base.Dispose(disposing);
    }
}
