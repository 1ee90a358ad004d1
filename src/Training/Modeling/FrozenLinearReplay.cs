using TorchSharp;
using static TorchSharp.torch;

namespace FedTune.Training.Modeling;

/// <summary>
/// A frozen Linear's output computed earlier, attached to the graph as the function of its input it is: forward returns
/// the kept output, backward gives the input grad_out · W with W (dequantized when stored quantized) rebuilt there
/// once. The weight and bias are frozen, so they get no gradient.
/// </summary>
internal sealed class FrozenLinearReplay : autograd.SingleTensorFunction<FrozenLinearReplay>
{
    private const string ProjectionKey = "projection";

    public override string Name => nameof(FrozenLinearReplay);

    /// <summary><paramref name="kept"/> as the output of <paramref name="projection"/> on <paramref name="input"/> (ownership of <paramref name="kept"/> passes to the graph).</summary>
    public static Tensor Run(Tensor input, Tensor kept, AdaptableLinear projection)
    {
        var output = apply(input, kept, projection);
        kept.Dispose();
        return output;
    }

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        ctx.save_data(ProjectionKey, vars[2]);
        return ((Tensor)vars[1]).detach();
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output)
    {
        var projection = (AdaptableLinear)ctx.get_data(ProjectionKey);
        Tensor inputGrad;
        using (var scope = torch.NewDisposeScope())
        {
            var weight = projection.BaseWeight();
            inputGrad = grad_output.to(weight.dtype).matmul(weight).MoveToOuterDisposeScope();
        }

        return [inputGrad, null!, null!];
    }
}
