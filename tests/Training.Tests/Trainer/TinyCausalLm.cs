using FedTune.Training.Modeling;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FedTune.Training.Tests.Trainer;

/// <summary>
/// A tiny causal LM for trainer unit tests: frozen embedding and head, a LoRA-style adapter (A: [r, d], B: [d, r],
/// B zero-initialised as in PEFT) with dropout on the adapter input, and a causal running mean of previous hidden
/// states (masked by the attention mask) so padding would change results if it were attended.
/// </summary>
internal sealed class TinyCausalLm : ICausalLanguageModel
{
    private readonly Tensor _embedding;
    private readonly Tensor _head;
    private readonly Parameter _loraA;
    private readonly Parameter _loraB;
    private readonly double _dropout;
    private bool _training;

    public TinyCausalLm(int vocabulary = 260, int hidden = 16, int rank = 4, long seed = 1, double dropout = 0.1, Device? device = null)
    {
        Device = device ?? CPU;
        using var generatorScope = torch.NewDisposeScope();
        torch.random.manual_seed(seed);
        _embedding = (torch.randn(vocabulary, hidden) * 0.5).to(Device).DetachFromDisposeScope();
        _head = (torch.randn(vocabulary, hidden) * 0.5).to(Device).DetachFromDisposeScope();
        _loraA = new Parameter((torch.rand(rank, hidden) - 0.5).to(Device)).DetachFromDisposeScope() as Parameter ?? throw new InvalidOperationException();
        _loraB = new Parameter(torch.zeros(hidden, rank, device: Device)).DetachFromDisposeScope() as Parameter ?? throw new InvalidOperationException();
        _dropout = dropout;
        VocabularySize = vocabulary;
        AdapterParameters = new Dictionary<string, Parameter>
        {
            ["base_model.model.tiny.lora_A.weight"] = _loraA,
            ["base_model.model.tiny.lora_B.weight"] = _loraB,
        };
    }

    public long VocabularySize { get; }

    public long MaxSequenceLength => 4096;

    public IReadOnlyDictionary<string, Parameter> AdapterParameters { get; }

    public Device Device { get; }

    public Tensor Forward(Tensor inputIds, Tensor? attentionMask)
    {
        using var scope = torch.NewDisposeScope();
        var hidden = _embedding.index_select(0, inputIds.reshape(-1)).reshape(inputIds.shape[0], inputIds.shape[1], -1);
        var mask = (attentionMask ?? torch.ones_like(inputIds)).to_type(ScalarType.Float32).unsqueeze(-1);
        var cumulative = (hidden * mask).cumsum(1) / mask.cumsum(1).clamp_min(1);
        var adapterInput = nn.functional.dropout(cumulative, _dropout, _training);
        var adapted = cumulative + adapterInput.matmul(_loraA.t()).matmul(_loraB.t()) * 2.0;
        return adapted.matmul(_head.t()).MoveToOuterDisposeScope();
    }

    public void SetTraining(bool training) => _training = training;

    public void Dispose()
    {
        _embedding.Dispose();
        _head.Dispose();
        _loraA.Dispose();
        _loraB.Dispose();
    }

    public Dictionary<string, float[]> AdapterSnapshot() =>
        AdapterParameters.ToDictionary(p => p.Key, p => p.Value.detach().cpu().data<float>().ToArray());
}
