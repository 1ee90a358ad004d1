using FedTune.Training.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace FedTune.Training.Modeling;

/// <summary>
/// The causal-LM loss through a frozen output projection without the [batch, time, vocabulary] logits: the scored
/// positions' hidden states are projected a chunk of rows at a time, each chunk's NLL (log-sum-exp minus the label's
/// logit) is summed, and when a gradient is wanted the chunk's gradient with respect to the hidden states
/// (softmax − one-hot) · W is computed at once, so only one chunk of logits ever lives. Same loss and hidden-state
/// gradient as <see cref="CausalLmLoss.SumNll"/> on the full logits (tested against it); positions labelled −100 are
/// never projected. The weight gets no gradient, so it must be frozen.
/// </summary>
public static class ChunkedLinearCrossEntropy
{
    /// <summary>Logits per chunk: 8 Mi float32 values (32 MiB), about 160 rows at a 50,304-token vocabulary.</summary>
    public const long DefaultChunkElements = 8L << 20;

    /// <summary>
    /// Sum of token NLLs of <paramref name="hidden"/> [B, T, H] projected by <paramref name="weight"/> [V, H] (float32,
    /// frozen), scored as <see cref="CausalLmLoss.SumNll"/> scores logits: position t against label t+1, −100 ignored.
    /// </summary>
    public static Tensor SumNll(Tensor hidden, Tensor weight, Tensor labels, long chunkElements = DefaultChunkElements)
    {
        ArgumentNullException.ThrowIfNull(hidden);
        ArgumentNullException.ThrowIfNull(weight);
        ArgumentNullException.ThrowIfNull(labels);
        if (weight.requires_grad)
            throw new ArgumentException("The chunked loss gives the output weight no gradient; use the full logits when it trains.", nameof(weight));
        using var scope = torch.NewDisposeScope();
        long size = hidden.shape[^1];
        var shiftedLabels = labels.narrow(1, 1, labels.shape[1] - 1).reshape(-1).to(ScalarType.Int64, hidden.device);
        var scored = shiftedLabels.ne(TokenizedExample.IgnoreIndex).nonzero().squeeze(1);
        var rows = hidden.narrow(1, 0, hidden.shape[1] - 1).reshape(-1, size).index_select(0, scored);
        var targets = shiftedLabels.index_select(0, scored);
        long chunkRows = Math.Max(1, chunkElements / Math.Max(1, weight.shape[0]));
        var loss = rows.requires_grad && torch.is_grad_enabled()
            ? Function.apply(rows, weight, targets, chunkRows)
            : Forward(rows, weight, targets, chunkRows, null);
        return loss.MoveToOuterDisposeScope();
    }

    /// <summary>The summed NLL of <paramref name="rows"/>; fills <paramref name="rowGradients"/> (d loss / d rows) when given.</summary>
    private static Tensor Forward(Tensor rows, Tensor weight, Tensor targets, long chunkRows, Tensor? rowGradients)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var total = torch.zeros([], dtype: ScalarType.Float32, device: rows.device);
        var weightT = weight.t();
        long count = rows.shape[0];
        for (long start = 0; start < count; start += chunkRows)
        {
            using var chunkScope = torch.NewDisposeScope();
            long length = Math.Min(chunkRows, count - start);
            var target = targets.narrow(0, start, length).unsqueeze(1);
            var logits = rows.narrow(0, start, length).matmul(weightT);
            var logSumExp = logits.logsumexp(1, keepdim: true);
            total.add_((logSumExp - logits.gather(1, target)).sum());
            if (rowGradients is null) continue;
            var probabilities = logits.sub_(logSumExp).exp_();
            probabilities.scatter_add_(1, target, torch.full([length, 1], -1f, dtype: probabilities.dtype, device: probabilities.device));
            rowGradients.narrow(0, start, length).copy_(probabilities.matmul(weight));
        }

        return total.MoveToOuterDisposeScope();
    }

    private sealed class Function : autograd.SingleTensorFunction<Function>
    {
        public override string Name => nameof(ChunkedLinearCrossEntropy);

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var rows = (Tensor)vars[0];
            var rowGradients = torch.empty_like(rows);
            var loss = Forward(rows, (Tensor)vars[1], (Tensor)vars[2], (long)vars[3], rowGradients);
            ctx.save_for_backward([rowGradients]);
            return loss;
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output)
        {
            var rowGradients = ctx.get_saved_variables()[0];
            return [rowGradients.mul(grad_output), null!, null!, null!];
        }
    }
}
