using TorchSharp;
using static TorchSharp.torch;

namespace FedTune.Training.Modeling;

/// <summary>
/// Selective activation checkpointing for one checkpointed block pass: the checkpointed forward keeps the output of each
/// frozen base projection of the block (<see cref="Keep"/>), and the backward's recomputation takes each one back
/// (<see cref="Take"/>) instead of dequantizing the weight and redoing the matmul; <see cref="FrozenLinearReplay"/>
/// attaches it to the recomputed graph. Everything else in the block (norms, rotary, attention, pointwise ops, LoRA
/// branches, dropout) is still recomputed. Each kept output is handed back once and released then; whatever the
/// recomputation did not take is released by <see cref="Dispose"/>.
/// </summary>
internal sealed class FrozenProjectionOutputs : IDisposable
{
    private readonly IReadOnlyList<AdaptableLinear> _projections;
    private readonly CheckpointCounters _counters;
    private readonly Dictionary<AdaptableLinear, Tensor> _kept = new(ReferenceEqualityComparer.Instance);

    public FrozenProjectionOutputs(IReadOnlyList<AdaptableLinear> projections, CheckpointCounters counters)
    {
        _projections = projections;
        _counters = counters;
    }

    /// <summary>True while the backward recomputes the block (projections take their outputs back instead of keeping them).</summary>
    public bool Replaying { get; private set; }

    /// <summary>Routes the block's projections through this store while <paramref name="block"/> runs.</summary>
    public Tensor Record(Func<Tensor, Tensor> block, Tensor input) => RunWith(block, input, replaying: false);

    /// <summary>Runs the block again with its projections answered from what <see cref="Record"/> kept.</summary>
    public Tensor Replay(Func<Tensor, Tensor> block, Tensor input) => RunWith(block, input, replaying: true);

    /// <summary>Keeps <paramref name="output"/> (the base projection of <paramref name="projection"/>, bias included) for the recomputation.</summary>
    public void Keep(AdaptableLinear projection, Tensor output)
    {
        if (_kept.Remove(projection, out var previous)) previous.Dispose();
        _kept[projection] = output.detach().DetachFromDisposeScope();
    }

    /// <summary>The output kept for <paramref name="projection"/>; the caller owns it from now on.</summary>
    public Tensor Take(AdaptableLinear projection)
    {
        if (!_kept.Remove(projection, out var output))
            throw new InvalidOperationException("The checkpointed forward kept no output for this projection; the block's recomputation called a projection its forward did not.");
        _counters.ReusedProjectionOutputs++;
        return output;
    }

    private Tensor RunWith(Func<Tensor, Tensor> block, Tensor input, bool replaying)
    {
        Replaying = replaying;
        foreach (var projection in _projections) projection.CheckpointOutputs = this;
        try
        {
            return block(input);
        }
        finally
        {
            foreach (var projection in _projections) projection.CheckpointOutputs = null;
        }
    }

    public void Dispose()
    {
        foreach (var output in _kept.Values) output.Dispose();
        _kept.Clear();
    }
}
