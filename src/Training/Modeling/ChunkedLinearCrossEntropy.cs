using FedTune.Training.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace FedTune.Training.Modeling;

/// <summary>
/// The causal-LM loss through a frozen output projection without the [batch, time, vocabulary] logits: the scored
/// positions' hidden states are projected a chunk of rows at a time into one reused buffer, <see cref="SoftmaxRows"/>
/// sums each row's NLL (log-sum-exp minus the label's logit) and, when a gradient is wanted, turns the row into
/// softmax − one-hot in place, and the chunk's gradient with respect to the hidden states (softmax − one-hot) · W is
/// computed at once, so only one chunk of logits ever lives. Same loss and hidden-state
/// gradient as <see cref="CausalLmLoss.SumNll"/> on the full logits (tested against it); positions labelled −100 are
/// never projected. The weight gets no gradient, so it must be frozen.
/// </summary>
public static class ChunkedLinearCrossEntropy
{
    /// <summary>
    /// Most logits per chunk: 16 Mi float32 values (64 MiB), at most 333 rows at a 50,304-token vocabulary, so the 1,022
    /// scored rows of a 2 × 512 batch go in 4 chunks of 256 rows (one 51 MB buffer). Each chunk streams the whole output
    /// weight through both matmuls, so fewer, taller chunks run them faster: the head's forward + backward took 0.72 s
    /// in 256-row chunks against 0.82 s in 160-row ones and 0.66 s in 2 chunks of 511 (docs/training-trainer.md).
    /// </summary>
    public const long DefaultChunkElements = 16L << 20;

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
        long count = rows.shape[0];
        // As many chunks as the budget needs, of equal size (1,022 rows in chunks of at most 333 are 4 of 256, not 3 of 333 and one of 23).
        long maxRows = Math.Max(1, chunkElements / Math.Max(1, weight.shape[0]));
        long chunks = Math.Max(1, (count + maxRows - 1) / maxRows);
        long chunkRows = Math.Max(1, (count + chunks - 1) / chunks);
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
        long count = rows.shape[0];
        if (count == 0) return torch.zeros([], dtype: ScalarType.Float32, device: rows.device).MoveToOuterDisposeScope();
        var weightT = weight.t();
        var targetIds = rows.device_type == DeviceType.CPU ? targets.data<long>().ToArray() : [];
        // One logits buffer for every chunk: written by the matmul (beta 0 ignores what it held), turned into
        // softmax − one-hot in place by the row kernel, read by the gradient's matmul.
        var buffer = torch.empty([Math.Min(chunkRows, count), weight.shape[0]], dtype: ScalarType.Float32, device: rows.device);
        double total = 0;
        for (long start = 0; start < count; start += chunkRows)
        {
            long length = Math.Min(chunkRows, count - start);
            using var logits = buffer.narrow(0, 0, length);
            using var chunkRowsView = rows.narrow(0, start, length);
            logits.addmm_(chunkRowsView, weightT, beta: 0, alpha: 1);
            total += buffer.device_type == DeviceType.CPU
                ? SoftmaxRows.NllAndGradient(buffer, (int)length, targetIds, (int)start, rowGradients is not null)
                : NllAndGradientOnDevice(logits, targets.narrow(0, start, length), rowGradients is not null);
            if (rowGradients is null) continue;
            using var gradient = rowGradients.narrow(0, start, length);
            gradient.addmm_(logits, weight, beta: 0, alpha: 1);
        }

        return torch.tensor((float)total, dtype: ScalarType.Float32, device: rows.device).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// <see cref="SoftmaxRows.NllAndGradient"/> with libtorch's ops, for logits off the CPU (a CUDA build): the chunk's
    /// summed NLL, and softmax − one-hot written into <paramref name="logits"/> when <paramref name="writeGradient"/>.
    /// </summary>
    private static double NllAndGradientOnDevice(Tensor logits, Tensor targets, bool writeGradient)
    {
        using var scope = torch.NewDisposeScope();
        var target = targets.unsqueeze(1);
        var logSumExp = logits.logsumexp(1, keepdim: true);
        double nll = (logSumExp - logits.gather(1, target)).sum().to(ScalarType.Float64).item<double>();
        if (writeGradient)
        {
            logits.sub_(logSumExp).exp_();
            logits.scatter_add_(1, target, torch.full([logits.shape[0], 1], -1f, dtype: logits.dtype, device: logits.device));
        }

        return nll;
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
