using FedTune.Core.Configuration;
using FedTune.Training.Quantization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FedTune.Training.Modeling;

/// <summary>
/// A Linear layer of the base model whose weight is either a full-precision parameter (state-dict names <c>weight</c>
/// and <c>bias</c>, as in Hugging Face) or frozen NF4/int8 codes dequantized on the fly, and which can carry a PEFT
/// LoRA branch (<c>lora_A.weight</c> [r, in], <c>lora_B.weight</c> [out, r], output scaled by alpha/r).
/// </summary>
public sealed class AdaptableLinear : nn.Module<Tensor, Tensor>
{
    private readonly Parameter? _weight;
    private readonly Parameter? _bias;
    private QuantizedWeight? _quantized;
    private Linear? _loraA;
    private Linear? _loraB;
    private double _loraDropout;
    private double _scaling;

    public AdaptableLinear(string name, long inFeatures, long outFeatures, bool hasBias, BaseQuantization storage, Device device, ScalarType dtype)
        : base(name)
    {
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        Storage = storage;
        DType = dtype;
        if (storage == BaseQuantization.None)
        {
            _weight = new Parameter(torch.zeros(outFeatures, inFeatures, dtype: dtype, device: device), requires_grad: false);
            register_parameter("weight", _weight);
        }

        if (hasBias)
        {
            _bias = new Parameter(torch.zeros(outFeatures, dtype: dtype, device: device), requires_grad: false);
            register_parameter("bias", _bias);
        }
    }

    public long InFeatures { get; }
    public long OutFeatures { get; }
    public BaseQuantization Storage { get; }
    public ScalarType DType { get; }

    /// <summary>The full-precision weight, or null when the weight is stored quantized.</summary>
    public Parameter? Weight => _weight;
    public Parameter? Bias => _bias;
    public QuantizedWeight? Quantized => _quantized;

    /// <summary>True when a LoRA branch is attached.</summary>
    public bool HasLora => _loraA is not null;

    /// <summary>True while the LoRA product is folded into the full-precision weight.</summary>
    public bool IsMerged { get; private set; }

    public Parameter? LoraA => _loraA?.weight;
    public Parameter? LoraB => _loraB?.weight;
    public double LoraScaling => _scaling;

    /// <summary>Copies (or quantizes) a loaded weight of shape [out, in].</summary>
    public void LoadWeight(Tensor source)
    {
        ArgumentNullException.ThrowIfNull(source);
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        if (_weight is not null)
        {
            _weight.copy_(source.to(DType, _weight.device));
            return;
        }

        _quantized?.Dispose();
        var device = _bias?.device ?? source.device;
        _quantized = QuantizedWeight.Create(source.to(DType, device), Storage);
    }

    /// <summary>Copies a loaded bias of shape [out].</summary>
    public void LoadBias(Tensor source)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (_bias is null)
            throw new InvalidOperationException("This linear layer has no bias.");
        using var noGrad = torch.no_grad();
        _bias.copy_(source.to(DType, _bias.device));
    }

    /// <summary>The effective base weight (dequantized when stored quantized), without the LoRA delta.</summary>
    public Tensor BaseWeight() =>
        _weight is not null
            ? _weight.alias()
            : _quantized?.Dequantize() ?? throw new InvalidOperationException("The weight of this layer has not been loaded.");

    /// <summary>Bytes of the base weight and bias in memory (codes and scales when quantized).</summary>
    public long BaseByteCount =>
        (_weight is null ? _quantized?.ByteCount ?? 0 : _weight.NumberOfElements * _weight.ElementSize)
        + (_bias is null ? 0 : _bias.NumberOfElements * _bias.ElementSize);

    /// <summary>
    /// Attaches a LoRA branch scaled by <paramref name="scaling"/> (alpha/r): A [r, in] from <paramref name="initialA"/> or kaiming-uniform(a=sqrt 5) as PEFT does, B zeros.
    /// </summary>
    public void AttachLora(int rank, double scaling, double dropout, Tensor? initialA, bool trainableA)
    {
        if (_loraA is not null)
            throw new InvalidOperationException("A LoRA branch is already attached to this layer.");
        if (rank <= 0)
            throw new ArgumentOutOfRangeException(nameof(rank), rank, "LoRA r must be positive.");
        var device = (_weight ?? _bias)?.device ?? CPU;
        _loraA = nn.Linear(InFeatures, rank, hasBias: false, device: device, dtype: ScalarType.Float32);
        _loraB = nn.Linear(rank, OutFeatures, hasBias: false, device: device, dtype: ScalarType.Float32);
        using (torch.no_grad())
        {
            if (initialA is not null)
                _loraA.weight!.copy_(initialA);
            else
                nn.init.kaiming_uniform_(_loraA.weight!, Math.Sqrt(5));
            _loraB.weight!.zero_();
        }

        _loraA.weight!.requires_grad = trainableA;
        _loraB.weight!.requires_grad = true;
        register_module("lora_A", _loraA);
        register_module("lora_B", _loraB);
        _scaling = scaling;
        _loraDropout = dropout;
    }

    /// <summary>
    /// Removes the LoRA branch and disposes its weights (and their gradients), leaving the layer exactly as loaded, so a
    /// kept base model can take another adapter (<see cref="AttachLora"/>) as a freshly loaded one would.
    /// </summary>
    public void DetachLora()
    {
        if (_loraA is null || _loraB is null) return;
        if (IsMerged)
            throw new InvalidOperationException("The LoRA branch is merged into the weight; unmerge it before detaching it.");
        _internal_submodules.Remove("lora_A");
        _internal_submodules.Remove("lora_B");
        _loraA.Dispose();
        _loraB.Dispose();
        _loraA = null;
        _loraB = null;
        _scaling = 0;
        _loraDropout = 0;
    }

    /// <summary>B·A·scaling in float32, the amount the LoRA branch adds to the weight.</summary>
    public Tensor LoraDelta()
    {
        if (_loraA is null || _loraB is null)
            throw new InvalidOperationException("No LoRA branch is attached to this layer.");
        return torch.matmul(_loraB.weight!, _loraA.weight!) * _scaling;
    }

    /// <summary>Folds the LoRA delta into the full-precision weight (forward then skips the branch).</summary>
    public void Merge()
    {
        if (IsMerged || _loraA is null) return;
        var weight = _weight ?? throw new InvalidOperationException(
            "Cannot merge LoRA into a quantized weight; export the merged model with full-precision weights instead.");
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        weight.add_(LoraDelta().to(weight.dtype));
        IsMerged = true;
    }

    /// <summary>Subtracts the LoRA delta again after <see cref="Merge"/>.</summary>
    public void Unmerge()
    {
        if (!IsMerged) return;
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        _weight!.sub_(LoraDelta().to(_weight.dtype));
        IsMerged = false;
    }

    /// <summary>
    /// Set by a checkpointed block pass (<see cref="LayerCheckpointFunction"/>) while it runs: the forward keeps this
    /// layer's base output there and the backward's recomputation takes it back instead of recomputing it.
    /// </summary>
    internal FrozenProjectionOutputs? CheckpointOutputs { get; set; }

    public override Tensor forward(Tensor input)
    {
        using var scope = torch.NewDisposeScope();
        var output = BaseOutput(input);
        if (_loraA is not null && _loraB is not null && !IsMerged)
        {
            var x = input.to(ScalarType.Float32);
            if (_loraDropout > 0)
                x = Lora.LoraDropout.Apply(x, _loraDropout, training);
            var delta = _loraB.forward(_loraA.forward(x)) * _scaling;
            output = output + delta.to(output.dtype);
        }

        return output.MoveToOuterDisposeScope();
    }

    /// <summary>input · Wᵀ + b with the base weight; inside a checkpointed block pass, kept in its forward and reused in its recomputation.</summary>
    private Tensor BaseOutput(Tensor input)
    {
        var kept = CheckpointOutputs;
        if (kept is null || (_weight?.requires_grad ?? false) || (_bias?.requires_grad ?? false))
            return nn.functional.linear(input, BaseWeight(), _bias);
        if (kept.Replaying)
            return FrozenLinearReplay.Run(input, kept.Take(this), this);
        var output = nn.functional.linear(input, BaseWeight(), _bias);
        kept.Keep(this, output);
        return output;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            _quantized?.Dispose();
        base.Dispose(disposing);
    }
}
