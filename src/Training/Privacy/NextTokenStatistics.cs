using System.Numerics.Tensors;
using Tensor = TorchSharp.torch.Tensor;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace FedTune.Training.Privacy;

/// <summary>
/// From a chunk of output-layer logits [rows, vocabulary], each row's log p(target) and, optionally, the mean μ and
/// variance σ² of log p(z) under the row's own next-token distribution (Min-K%++): the same quantities as
/// <c>log_softmax</c> followed by gather, Σ p·log p and Σ p·(log p − μ)², but computed one row at a time in a buffer
/// that stays in the core's cache (one read of the logits from memory instead of about a dozen passes over the whole
/// chunk), with the rows spread over the cores.
/// </summary>
internal static class NextTokenStatistics
{
    /// <summary>
    /// Fills <paramref name="logProbabilities"/>[offset + r] (and <paramref name="means"/>, <paramref name="variances"/>
    /// when they are not empty) for every row r of <paramref name="logits"/>, a contiguous float32 CPU tensor, whose
    /// target token is <paramref name="targets"/>[offset + r].
    /// </summary>
    public static void Compute(Tensor logits, long[] targets, float[] logProbabilities, float[] means, float[] variances, long offset)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentNullException.ThrowIfNull(logProbabilities);
        ArgumentNullException.ThrowIfNull(means);
        ArgumentNullException.ThrowIfNull(variances);
        if (logits.dtype != ScalarType.Float32 || logits.device_type != DeviceType.CPU || logits.dim() != 2 || !logits.is_contiguous())
        {
            throw new ArgumentException($"Logits must be a contiguous float32 CPU matrix; got {logits.dtype} {logits.device_type} [{string.Join(", ", logits.shape)}].", nameof(logits));
        }

        var rows = (int)logits.shape[0];
        var vocabulary = (int)logits.shape[1];
        var statistics = means.Length > 0;
        Parallel.For(0, rows, r =>
        {
            if (_buffer is null || _buffer.Length < 2 * vocabulary) _buffer = new float[2 * vocabulary];
            // Spans cannot be captured: each row reads the tensor's memory afresh (no copy).
            var row = MemoryMarshal.Cast<byte, float>(logits.bytes).Slice(r * vocabulary, vocabulary);
            var (logProbability, mean, variance) = Row(row, (int)targets[offset + r], statistics, _buffer.AsSpan(0, vocabulary), _buffer.AsSpan(vocabulary, vocabulary));
            logProbabilities[offset + r] = logProbability;
            if (statistics)
            {
                means[offset + r] = mean;
                variances[offset + r] = variance;
            }
        });
    }

    /// <summary>Each worker thread's two row-sized buffers (reused across chunks and batches).</summary>
    [ThreadStatic]
    private static float[]? _buffer;

    /// <summary>
    /// One row: with d = z − max z, S = Σ exp d and log p = d − log S, returns log p(target), μ = Σ p·log p and
    /// σ² = Σ p·(log p − μ)² (centred, as a two-pass variance: no cancellation).
    /// </summary>
    internal static (float LogProbability, float Mean, float Variance) Row(ReadOnlySpan<float> logits, int target, bool statistics, Span<float> shifted, Span<float> weights)
    {
        var max = TensorPrimitives.Max(logits);
        TensorPrimitives.Subtract(logits, max, shifted);
        TensorPrimitives.Exp(shifted, weights);
        var sum = TensorPrimitives.Sum<float>(weights);
        var logSum = MathF.Log(sum);
        var logProbability = shifted[target] - logSum;
        if (!statistics)
        {
            return (logProbability, 0, 0);
        }

        // Σ p·d, then Σ p·(d − Σ p·d)²: log p − μ = d − Σ p·d, since log p and d differ by the constant log S.
        var centre = TensorPrimitives.Dot(weights, shifted) / sum;
        TensorPrimitives.Subtract(shifted, centre, shifted);
        TensorPrimitives.Multiply(weights, shifted, weights);
        var variance = TensorPrimitives.Dot(weights, shifted) / sum;
        return (logProbability, centre - logSum, variance);
    }
}
