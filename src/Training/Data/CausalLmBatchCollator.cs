using FedTune.Core.Configuration;
using TorchSharp;
using static TorchSharp.torch;

namespace FedTune.Training.Data;

/// <summary>
/// Pads examples to the longest in the batch on the chosen side and moves them to the device. An example's first token
/// is never scored (nothing precedes it; with left padding the position before it is a pad), so its label is always
/// ignored: a padded batch scores exactly the tokens each example scores alone.
/// </summary>
public sealed class CausalLmBatchCollator(int padTokenId, PaddingSide paddingSide = PaddingSide.Left)
{
    public PaddingSide PaddingSide { get; } = paddingSide;

    public CausalLmBatch Collate(IReadOnlyList<TokenizedExample> examples, Device device)
    {
        ArgumentNullException.ThrowIfNull(examples);
        if (examples.Count == 0)
        {
            throw new ArgumentException("A batch needs at least one example.", nameof(examples));
        }

        var width = examples.Max(e => e.InputIds.Length);
        if (width == 0)
        {
            throw new ArgumentException("Every example in the batch is empty: tokenization produced no tokens.", nameof(examples));
        }

        var ids = new long[examples.Count * width];
        var mask = new long[ids.Length];
        var labels = new long[ids.Length];
        long scored = 0;
        long real = 0;
        for (int b = 0; b < examples.Count; b++)
        {
            var example = examples[b];
            var length = example.InputIds.Length;
            var offset = b * width + (PaddingSide == PaddingSide.Left ? width - length : 0);
            var padStart = b * width + (PaddingSide == PaddingSide.Left ? 0 : length);
            for (int t = 0; t < width - length; t++)
            {
                ids[padStart + t] = padTokenId;
                labels[padStart + t] = TokenizedExample.IgnoreIndex;
            }

            for (int t = 0; t < length; t++)
            {
                ids[offset + t] = example.InputIds[t];
                mask[offset + t] = 1;
                labels[offset + t] = t == 0 ? TokenizedExample.IgnoreIndex : example.Labels[t];
            }

            scored += example.ScoredTokenCount;
            real += length;
        }

        long[] shape = [examples.Count, width];
        return new CausalLmBatch(
            torch.tensor(ids, shape, ScalarType.Int64, device),
            torch.tensor(mask, shape, ScalarType.Int64, device),
            torch.tensor(labels, shape, ScalarType.Int64, device),
            scored,
            real);
    }
}
