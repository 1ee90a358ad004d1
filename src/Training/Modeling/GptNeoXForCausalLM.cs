using FedTune.Core.Configuration;
using FedTune.Training.Data;
using FedTune.Training.Quantization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FedTune.Training.Modeling;

/// <summary>
/// Hugging Face's <c>GPTNeoXForCausalLM</c> (Pythia) in TorchSharp. Module and parameter names equal HF's state-dict keys,
/// so loading is a name-for-name copy (<see cref="WeightSlots"/>). Logits are float32.
/// </summary>
public sealed class GptNeoXForCausalLM : nn.Module, ICausalLanguageModel
{
    /// <summary>PEFT's prefix in front of the model's own parameter names in a saved adapter.</summary>
    public const string PeftPrefix = "base_model.model.";

    private readonly GptNeoXBackbone _backbone;
    private readonly AdaptableLinear? _embedOut;

    /// <summary>Builds the architecture with zero weights; fill them with a loader or <see cref="InitializeRandom"/>.</summary>
    public GptNeoXForCausalLM(GptNeoXConfig config, Device? device = null, ScalarType dtype = ScalarType.Float32, BaseQuantization quantization = BaseQuantization.None)
        : base("GPTNeoXForCausalLM")
    {
        ArgumentNullException.ThrowIfNull(config);
        Runtime.MklCpuDispatch.Prepare(); // before this process's first matmul: MKL keeps the kernels it picks then
        Config = config.Validate();
        Device = device ?? CPU;
        DType = dtype;
        Quantization = quantization;
        _backbone = new GptNeoXBackbone(config, quantization, Device, dtype);
        register_module("gpt_neox", _backbone);
        if (!config.TieWordEmbeddings)
        {
            _embedOut = new AdaptableLinear("embed_out", config.HiddenSize, config.VocabSize, false, BaseQuantization.None, Device, dtype);
            register_module("embed_out", _embedOut);
        }

        foreach (var (_, parameter) in named_parameters())
            parameter.requires_grad = false;
        eval();
    }

    public GptNeoXConfig Config { get; }
    public Device Device { get; }
    public ScalarType DType { get; }
    public BaseQuantization Quantization { get; }
    public GptNeoXBackbone Backbone => _backbone;

    public long VocabularySize => Config.VocabSize;
    public long MaxSequenceLength => Config.MaxPositionEmbeddings;

    /// <summary>Recompute each block's activations in backward (see <see cref="GptNeoXBackbone.GradientCheckpointing"/>).</summary>
    public bool GradientCheckpointing
    {
        get => _backbone.GradientCheckpointing;
        set => _backbone.GradientCheckpointing = value;
    }

    /// <summary>The trainable LoRA parameters keyed by PEFT names (frozen A matrices are not included).</summary>
    public IReadOnlyDictionary<string, Parameter> AdapterParameters =>
        AllAdapterWeights().Where(p => p.Value.requires_grad).ToDictionary(p => p.Key, p => p.Value);

    /// <summary>Every LoRA weight (trainable or frozen) keyed by PEFT names, in model order.</summary>
    public IReadOnlyList<KeyValuePair<string, Parameter>> AllAdapterWeights() =>
        named_parameters()
            .Where(p => p.name.Contains(".lora_A.", StringComparison.Ordinal) || p.name.Contains(".lora_B.", StringComparison.Ordinal))
            .Select(p => new KeyValuePair<string, Parameter>(PeftPrefix + p.name, p.parameter))
            .ToList();

    /// <summary>Every base Linear layer with its module path (e.g. <c>gpt_neox.layers.0.attention.query_key_value</c>).</summary>
    public IReadOnlyList<KeyValuePair<string, AdaptableLinear>> LinearLayers()
    {
        var layers = new List<KeyValuePair<string, AdaptableLinear>>();
        for (int i = 0; i < _backbone.Layers.Count; i++)
        {
            var layer = _backbone.Layers[i];
            var p = $"gpt_neox.layers.{i}.";
            layers.Add(new(p + "attention.query_key_value", layer.Attention.QueryKeyValue));
            layers.Add(new(p + "attention.dense", layer.Attention.Dense));
            layers.Add(new(p + "mlp.dense_h_to_4h", layer.Mlp.DenseHTo4H));
            layers.Add(new(p + "mlp.dense_4h_to_h", layer.Mlp.Dense4HToH));
        }

        if (_embedOut is not null)
            layers.Add(new("embed_out", _embedOut));
        return layers;
    }

    public void SetTraining(bool training) => train(training);

    /// <summary>
    /// Removes every LoRA branch (disposing its weights) and puts the model back as it was loaded: evaluation mode,
    /// gradient checkpointing off, base weights frozen. What an agent does before the next task reuses the model.
    /// </summary>
    public void DetachAdapters()
    {
        foreach (var (_, linear) in LinearLayers()) linear.DetachLora();
        GradientCheckpointing = false;
        SetBaseTrainable(false);
        SetTraining(false);
    }

    /// <summary>
    /// Makes every full-precision base parameter trainable (pretraining) or frozen again (the default, for LoRA).
    /// Quantized weights cannot train.
    /// </summary>
    public void SetBaseTrainable(bool trainable)
    {
        if (trainable && Quantization != BaseQuantization.None)
            throw new InvalidOperationException("A quantized base model cannot be trained; load it in full precision.");
        foreach (var (name, parameter) in named_parameters())
        {
            if (!name.Contains(".lora_", StringComparison.Ordinal))
                parameter.requires_grad = trainable;
        }
    }

    public Tensor Forward(Tensor inputIds, Tensor? attentionMask) => Forward(inputIds, attentionMask, null);

    /// <summary>
    /// Logits [B, T, vocab] float32 for the new tokens. With a <paramref name="cache"/>, <paramref name="attentionMask"/>
    /// is the mask of the new tokens only ([B, T]) or null; the cache remembers the mask of what came before.
    /// </summary>
    public Tensor Forward(Tensor inputIds, Tensor? attentionMask, KeyValueCache? cache)
    {
        ArgumentNullException.ThrowIfNull(inputIds);
        using var scope = torch.NewDisposeScope();
        var ids = inputIds.to(ScalarType.Int64, Device);
        long past = cache?.Length ?? 0;
        if (past + ids.shape[1] > Config.MaxPositionEmbeddings)
            throw new ArgumentException(
                $"Sequence of {past + ids.shape[1]} tokens exceeds max_position_embeddings {Config.MaxPositionEmbeddings}; truncate it.", nameof(inputIds));
        Tensor? fullMask = attentionMask?.to(ScalarType.Int64, Device);
        if (cache is not null)
        {
            var newMask = fullMask ?? torch.ones(ids.shape, dtype: ScalarType.Int64, device: Device);
            fullMask = cache.Mask is null ? newMask : torch.cat([cache.Mask, newMask], 1);
            cache.SetMask(fullMask.clone());
        }

        var hidden = _backbone.Forward(ids, fullMask, cache);
        var logits = _embedOut is null
            ? nn.functional.linear(hidden, _backbone.EmbedIn.weight!)
            : _embedOut.forward(hidden);
        return logits.to(ScalarType.Float32).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The summed token NLL of a batch (<see cref="CausalLmLoss.SumNll"/> of the logits). With a frozen float32 output
    /// layer without LoRA it runs the backbone and then <see cref="ChunkedLinearCrossEntropy"/>, so the
    /// [batch, time, vocabulary] logits are never held; otherwise it scores the full logits.
    /// </summary>
    public Tensor SumNll(Tensor inputIds, Tensor? attentionMask, Tensor labels)
    {
        ArgumentNullException.ThrowIfNull(inputIds);
        ArgumentNullException.ThrowIfNull(labels);
        var head = ChunkableHead();
        if (head is null)
        {
            using var fullScope = torch.NewDisposeScope();
            return CausalLmLoss.SumNll(Forward(inputIds, attentionMask), labels).MoveToOuterDisposeScope();
        }

        using var scope = torch.NewDisposeScope();
        var hidden = HiddenStates(inputIds, attentionMask);
        return ChunkedLinearCrossEntropy.SumNll(hidden, head, labels).MoveToOuterDisposeScope();
    }

    /// <summary>Logits at some flattened [batch × time] positions only: the output layer projects just those rows.</summary>
    public Tensor LogitsAt(Tensor inputIds, Tensor? attentionMask, Tensor positions)
    {
        ArgumentNullException.ThrowIfNull(inputIds);
        ArgumentNullException.ThrowIfNull(positions);
        using var scope = torch.NewDisposeScope();
        var hidden = HiddenStates(inputIds, attentionMask);
        var rows = hidden.reshape(-1, hidden.shape[^1]).index_select(0, positions.to(ScalarType.Int64, Device));
        var logits = _embedOut is null ? nn.functional.linear(rows, _backbone.EmbedIn.weight!) : _embedOut.forward(rows);
        return logits.to(ScalarType.Float32).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// <see cref="LogitsAt"/> in chunks: the layers run once, then each chunk of scored rows goes through the output
    /// layer just before it is consumed, so the [N, vocabulary] logits are never held whole.
    /// </summary>
    public void ConsumeLogitsAt(Tensor inputIds, Tensor? attentionMask, Tensor positions, long chunkRows, Action<long, Tensor> consume)
    {
        ArgumentNullException.ThrowIfNull(inputIds);
        ArgumentNullException.ThrowIfNull(positions);
        ArgumentNullException.ThrowIfNull(consume);
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkRows, 1);
        using var scope = torch.NewDisposeScope();
        var hidden = HiddenStates(inputIds, attentionMask);
        var rows = hidden.reshape(-1, hidden.shape[^1]).index_select(0, positions.to(ScalarType.Int64, Device));
        for (long from = 0; from < rows.shape[0]; from += chunkRows)
        {
            using var chunkScope = torch.NewDisposeScope();
            var chunk = rows.narrow(0, from, Math.Min(chunkRows, rows.shape[0] - from));
            var logits = _embedOut is null ? nn.functional.linear(chunk, _backbone.EmbedIn.weight!) : _embedOut.forward(chunk);
            consume(from, logits.to(ScalarType.Float32));
        }
    }

    /// <summary>The backbone's final hidden states [B, T, H] of a batch without a cache.</summary>
    private Tensor HiddenStates(Tensor inputIds, Tensor? attentionMask)
    {
        var ids = inputIds.to(ScalarType.Int64, Device);
        if (ids.shape[1] > Config.MaxPositionEmbeddings)
            throw new ArgumentException(
                $"Sequence of {ids.shape[1]} tokens exceeds max_position_embeddings {Config.MaxPositionEmbeddings}; truncate it.", nameof(inputIds));
        return _backbone.Forward(ids, attentionMask?.to(ScalarType.Int64, Device), null);
    }

    /// <summary>The output weight when the chunked loss applies to it (float32, frozen, no LoRA branch), else null.</summary>
    private Parameter? ChunkableHead()
    {
        var weight = _embedOut is null ? _backbone.EmbedIn.weight : _embedOut.HasLora ? null : _embedOut.Weight;
        return weight is { dtype: ScalarType.Float32, requires_grad: false } ? weight : null;
    }

    /// <summary>HF's initialization: Linear and Embedding weights N(0, initializer_range), biases 0, LayerNorm 1/0.</summary>
    public void InitializeRandom(long seed)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var generator = new Generator((ulong)seed);
        float std = (float)Config.InitializerRange;
        foreach (var slot in WeightSlots())
        {
            // One slot's random tensor at a time (a quantized base never holds the float32 model in full).
            using var slotScope = torch.NewDisposeScope();
            Tensor value;
            if (slot.Name.EndsWith("layernorm.weight", StringComparison.Ordinal) || slot.Name.EndsWith("layer_norm.weight", StringComparison.Ordinal))
                value = torch.ones(slot.Shape);
            else if (slot.Name.EndsWith(".bias", StringComparison.Ordinal))
                value = torch.zeros(slot.Shape);
            else
                value = torch.randn(slot.Shape, generator: generator).mul_(std);
            slot.Load(value);
        }
    }

    /// <summary>The model's HF state-dict entries in <see cref="GptNeoXStateDictLayout"/> order.</summary>
    public IReadOnlyList<WeightSlot> WeightSlots()
    {
        var slots = new List<WeightSlot>();
        void Plain(string name, Tensor target) => slots.Add(new WeightSlot(name, target.shape,
            source =>
            {
                using var noGrad = torch.no_grad();
                target.copy_(source.to(target.dtype, target.device));
            },
            () => target.detach().clone()));
        void Linear(string prefix, AdaptableLinear linear)
        {
            slots.Add(new WeightSlot(prefix + ".weight", [linear.OutFeatures, linear.InFeatures], linear.LoadWeight, () => linear.BaseWeight().detach().clone()));
            if (linear.Bias is not null)
                slots.Add(new WeightSlot(prefix + ".bias", [linear.OutFeatures], linear.LoadBias, () => linear.Bias.detach().clone()));
        }

        void Norm(string prefix, LayerNorm norm)
        {
            Plain(prefix + ".weight", norm.weight!);
            Plain(prefix + ".bias", norm.bias!);
        }

        Plain("gpt_neox.embed_in.weight", _backbone.EmbedIn.weight!);
        for (int i = 0; i < _backbone.Layers.Count; i++)
        {
            var layer = _backbone.Layers[i];
            var p = $"gpt_neox.layers.{i}.";
            Norm(p + "input_layernorm", layer.InputLayerNorm);
            Norm(p + "post_attention_layernorm", layer.PostAttentionLayerNorm);
            Linear(p + "attention.query_key_value", layer.Attention.QueryKeyValue);
            Linear(p + "attention.dense", layer.Attention.Dense);
            Linear(p + "mlp.dense_h_to_4h", layer.Mlp.DenseHTo4H);
            Linear(p + "mlp.dense_4h_to_h", layer.Mlp.Dense4HToH);
        }

        Norm("gpt_neox.final_layer_norm", _backbone.FinalLayerNorm);
        if (_embedOut is not null)
            Linear("embed_out", _embedOut);
        return slots;
    }

    /// <summary>Bytes the base model (everything but LoRA) occupies in memory, counting quantized codes and scales.</summary>
    public long BaseModelBytes()
    {
        long bytes = named_parameters()
            .Where(p => !p.name.Contains(".lora_", StringComparison.Ordinal))
            .Sum(p => p.parameter.NumberOfElements * p.parameter.ElementSize);
        foreach (var (_, linear) in LinearLayers())
            bytes += linear.Quantized?.ByteCount ?? 0;
        return bytes;
    }
}
