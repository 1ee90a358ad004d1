namespace FedTune.Training.Trainer;

/// <summary>
/// Which examples form the g-th micro-batch (0-based, counted across all optimizer steps): examples are shuffled once
/// per epoch with a seeded permutation (seed, epoch) and cut into batches of <c>batchSize</c>, the last one possibly
/// smaller (HF's <c>drop_last=False</c>). Stateless, so a resumed run only needs the step number.
/// </summary>
public sealed class MicroBatchOrder
{
    private readonly int _count;
    private readonly int _batchSize;
    private readonly int _seed;
    private int _cachedEpoch = -1;
    private int[] _permutation = [];

    public MicroBatchOrder(int exampleCount, int batchSize, int seed)
    {
        if (exampleCount < 1)
        {
            throw new ArgumentException("There are no training examples: the data set is empty after tokenization.");
        }

        _count = exampleCount;
        _batchSize = batchSize;
        _seed = seed;
        BatchesPerEpoch = (exampleCount + batchSize - 1) / batchSize;
    }

    public int BatchesPerEpoch { get; }

    /// <summary>Example indices of micro-batch <paramref name="globalIndex"/>.</summary>
    public ReadOnlySpan<int> Batch(long globalIndex)
    {
        var epoch = (int)(globalIndex / BatchesPerEpoch);
        var within = (int)(globalIndex % BatchesPerEpoch);
        if (epoch != _cachedEpoch)
        {
            _permutation = Permutation(epoch);
            _cachedEpoch = epoch;
        }

        var start = within * _batchSize;
        return _permutation.AsSpan(start, Math.Min(_batchSize, _count - start));
    }

    private int[] Permutation(int epoch)
    {
        var order = Enumerable.Range(0, _count).ToArray();
        var random = new Random(unchecked((_seed * 1_000_003) + epoch) & int.MaxValue);
        for (int i = order.Length - 1; i > 0; i--)
        {
            var j = random.Next(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }

        return order;
    }
}
