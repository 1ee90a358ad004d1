using TorchSharp;
using static TorchSharp.torch;

namespace FedTune.Training.Modeling;

/// <summary>
/// Gradient checkpointing of one block, the way PyTorch's reentrant <c>torch.utils.checkpoint</c> does it: the forward
/// runs without building a graph and keeps only the block's input; the backward restores the RNG state, recomputes the
/// block with a graph and back-propagates through it, accumulating the parameters' gradients and returning the input's.
/// </summary>
internal sealed class LayerCheckpointFunction : autograd.SingleTensorFunction<LayerCheckpointFunction>
{
    private const string BlockKey = "block";
    private const string RngKey = "rng";

    public override string Name => nameof(LayerCheckpointFunction);

    private const string SharedKey = "shared";

    /// <summary>
    /// Runs <paramref name="block"/> on <paramref name="input"/> with activations recomputed in backward.
    /// <paramref name="shared"/> holds the constant tensors the block reads (rotary tables, mask); each backward releases it once.
    /// </summary>
    public static Tensor Run(Tensor input, Func<Tensor, Tensor> block, SharedCheckpointTensors shared) => apply(input, block, shared);

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var input = (Tensor)vars[0];
        var block = (Func<Tensor, Tensor>)vars[1];
        ctx.save_for_backward([input]);
        ctx.save_data(BlockKey, block);
        ctx.save_data(SharedKey, vars[2]);
        ctx.save_data(RngKey, new RngSnapshot(torch.random.get_rng_state().DetachFromDisposeScope()));
        return block(input);
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output)
    {
        var block = (Func<Tensor, Tensor>)ctx.get_data(BlockKey);
        var rng = (RngSnapshot)ctx.get_data(RngKey);
        var saved = ctx.get_saved_variables()[0];
        Tensor inputGrad;
        using (var scope = torch.NewDisposeScope())
        {
            var current = torch.random.get_rng_state();
            torch.random.set_rng_state(rng.State);
            using (torch.enable_grad())
            {
                var input = saved.detach().requires_grad_(true);
                var output = block(input);
                output.backward([grad_output]);
                // Into the caller's scope (the training step's; CPU autograd runs backward on the calling thread): autograd
                // keeps its own reference, and a detached clone stayed alive until the GC finalised it (35 MiB per step at
                // the pythia-70m shape; GradientCheckpointingTests).
                inputGrad = input.grad!.clone().MoveToOuterDisposeScope();
            }

            torch.random.set_rng_state(current);
        }

        rng.State.Dispose();
        ((SharedCheckpointTensors)ctx.get_data(SharedKey)).Release();
        return [inputGrad, null!, null!];
    }

    private sealed record RngSnapshot(Tensor State);
}

/// <summary>
/// Tensors every checkpointed block of one forward reads (rotary cos/sin, attention mask), kept out of the forward's
/// dispose scope until the last block's backward has recomputed with them.
/// </summary>
internal sealed class SharedCheckpointTensors
{
    private readonly Tensor?[] _tensors;
    private int _users;

    public SharedCheckpointTensors(int users, params Tensor?[] tensors)
    {
        _users = users;
        _tensors = tensors.Select(t => t?.detach().DetachFromDisposeScope()).ToArray();
    }

    public Tensor? this[int index] => _tensors[index];

    public void Release()
    {
        if (Interlocked.Decrement(ref _users) != 0) return;
        foreach (var tensor in _tensors) tensor?.Dispose();
    }
}
