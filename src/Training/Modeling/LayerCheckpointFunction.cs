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

    /// <summary>Runs <paramref name="block"/> on <paramref name="input"/> with activations recomputed in backward.</summary>
    public static Tensor Run(Tensor input, Func<Tensor, Tensor> block) => apply(input, block);

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var input = (Tensor)vars[0];
        var block = (Func<Tensor, Tensor>)vars[1];
        ctx.save_for_backward([input]);
        ctx.save_data(BlockKey, block);
        ctx.save_data(RngKey, new RngSnapshot(torch.random.get_rng_state()));
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
                inputGrad = input.grad!.clone().DetachFromDisposeScope();
            }

            torch.random.set_rng_state(current);
        }

        rng.State.Dispose();
        return [inputGrad];
    }

    private sealed record RngSnapshot(Tensor State);
}
