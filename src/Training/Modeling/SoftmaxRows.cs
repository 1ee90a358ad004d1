using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using Tensor = TorchSharp.torch.Tensor;
using TorchSharp;
using static TorchSharp.torch;

namespace FedTune.Training.Modeling;

/// <summary>
/// The cross-entropy row kernel of <see cref="ChunkedLinearCrossEntropy"/>: for each row z of a logits chunk, the NLL
/// log Σ exp z − z[target] and, in place, the gradient softmax(z) − one-hot(target). One read of the row from memory and
/// one write back; the max, exp and sum passes run on the row while it sits in the core's cache (a 50,304-token row is
/// 197 KiB), instead of libtorch's logsumexp, gather, sub, exp and scatter each streaming the whole chunk.
/// </summary>
internal static class SoftmaxRows
{
    /// <summary>
    /// The summed NLL of the first <paramref name="rows"/> rows of <paramref name="logits"/> (a contiguous float32 CPU
    /// matrix, overwritten), row r scored against <paramref name="targets"/>[<paramref name="offset"/> + r]; with
    /// <paramref name="writeGradient"/>, each row is left as softmax − one-hot. On the calling thread: spreading the rows
    /// over .NET's thread pool made a training step slower whenever the machine was busy (its workers and libtorch's
    /// OpenMP threads, which spin after each matmul, fight for the cores), and the kernel is a few percent of the head.
    /// </summary>
    public static double NllAndGradient(Tensor logits, int rows, long[] targets, int offset, bool writeGradient)
    {
        if (logits.dtype != ScalarType.Float32 || logits.device_type != DeviceType.CPU || logits.dim() != 2 || !logits.is_contiguous())
            throw new ArgumentException($"Logits must be a contiguous float32 CPU matrix; got {logits.dtype} {logits.device_type} [{string.Join(", ", logits.shape)}].", nameof(logits));
        int vocabulary = (int)logits.shape[1];
        var values = MemoryMarshal.Cast<byte, float>(logits.bytes);
        double total = 0;
        for (int r = 0; r < rows; r++)
            total += Row(values.Slice(r * vocabulary, vocabulary), (int)targets[offset + r], writeGradient);
        return total;
    }

    /// <summary>
    /// One row: returns max + log Σ exp(z − max) − z[target], leaving exp(z − max) in the row, or softmax(z) − one-hot
    /// with <paramref name="writeGradient"/>.
    /// </summary>
    internal static double Row(Span<float> row, int target, bool writeGradient)
    {
        float targetLogit = row[target];
        float max = TensorPrimitives.Max(row);
        TensorPrimitives.Subtract(row, max, row);
        TensorPrimitives.Exp(row, row);
        float sum = TensorPrimitives.Sum<float>(row);
        if (writeGradient)
        {
            TensorPrimitives.Multiply(row, 1f / sum, row);
            row[target] -= 1f;
        }

        return max + Math.Log(sum) - targetLogit;
    }
}
