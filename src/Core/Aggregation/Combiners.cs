using System.Numerics.Tensors;

namespace FedTune.Core.Aggregation;

/// <summary>Turns the accepted updates of a round into one delta over the flat layout.</summary>
public interface IUpdateCombiner
{
    bool NeedsAllUpdatesAtOnce { get; }

    float[] Combine(AggregationInput input);
}

/// <summary>
/// FedAvg's combiner: Σᵢ (nᵢ / Σn) · updateᵢ − global. Updates are streamed in small groups
/// (<see cref="GroupSize"/> open at once, whatever K is): for each cache-sized chunk of coordinates, the group's
/// chunks are read and fused into the accumulator with TensorPrimitives multiply-adds while that accumulator
/// chunk is still in cache, so the accumulator crosses memory once per group instead of once per update.
/// Memory: one model-sized accumulator plus GroupSize chunk buffers.
/// </summary>
public sealed class WeightedMeanCombiner : IUpdateCombiner
{
    /// <summary>Coordinates per chunk: GroupSize + 1 chunks of 64 KiB stay within a typical L2 cache.</summary>
    public const int ChunkElements = 1 << 14;

    /// <summary>Updates open and fused at once (default 4).</summary>
    public int GroupSize { get; init; } = 4;

    public bool NeedsAllUpdatesAtOnce => false;

    public float[] Combine(AggregationInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var accumulator = new float[input.Layout.Length];
        var weights = input.NormalizedWeights();
        var groupSize = Math.Max(1, GroupSize);
        var buffers = Enumerable.Range(0, groupSize).Select(_ => new float[ChunkElements]).ToArray();
        for (var first = 0; first < input.Accepted.Count; first += groupSize)
        {
            var count = Math.Min(groupSize, input.Accepted.Count - first);
            var readers = new List<IUpdateReader>(count);
            try
            {
                for (var g = 0; g < count; g++)
                {
                    readers.Add(input.Accepted[first + g].Update.Open());
                }

                foreach (var (entry, offset, length) in input.Layout.Chunks(ChunkElements))
                {
                    var target = accumulator.AsSpan((int)entry.Offset + offset, length);
                    for (var g = 0; g < count; g++)
                    {
                        var chunk = buffers[g].AsSpan(0, length);
                        readers[g].Read(entry.Name, offset, chunk);
                        TensorPrimitives.MultiplyAdd(chunk, (float)weights[first + g], target, target);
                    }
                }
            }
            finally
            {
                foreach (var reader in readers)
                {
                    reader.Dispose();
                }
            }
        }

        foreach (var entry in input.Layout.Entries.Where(e => !e.Frozen))
        {
            var target = accumulator.AsSpan((int)entry.Offset, entry.Length);
            TensorPrimitives.Subtract(target, input.GlobalFlat.AsSpan((int)entry.Offset, entry.Length), target);
        }

        return accumulator;
    }

    /// <summary>
    /// The same loop order over in-memory updates (acc += Σ wᵢ·uᵢ, grouped and chunked); used by the benchmark
    /// to time the arithmetic alone.
    /// </summary>
    public static void AccumulateBlocked(IReadOnlyList<float[]> updates, IReadOnlyList<float> weights, float[] accumulator, int groupSize = 4)
    {
        ArgumentNullException.ThrowIfNull(updates);
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(accumulator);
        for (var first = 0; first < updates.Count; first += groupSize)
        {
            var count = Math.Min(groupSize, updates.Count - first);
            for (var offset = 0; offset < accumulator.Length; offset += ChunkElements)
            {
                var length = Math.Min(ChunkElements, accumulator.Length - offset);
                var target = accumulator.AsSpan(offset, length);
                for (var g = 0; g < count; g++)
                {
                    TensorPrimitives.MultiplyAdd(updates[first + g].AsSpan(offset, length), weights[first + g], target, target);
                }
            }
        }
    }
}

/// <summary>
/// Clips each update's delta to L2 norm <c>bound</c> (scale min(1, bound/‖Δᵢ‖)) before averaging.
/// Without DP: example-weighted mean of clipped deltas (norm-bounded averaging, Sun et al. 2019).
/// With DP (McMahan et al. 2018, DP-FedAvg): unweighted sum of clipped deltas plus N(0, (z·C)²) per coordinate,
/// divided by the number of clients the round sampled.
/// </summary>
public sealed class ClippedMeanCombiner : IUpdateCombiner
{
    private readonly double _bound;
    private readonly double? _noiseMultiplier;
    private readonly GaussianNoise? _noise;

    /// <summary>Norm-bounded averaging.</summary>
    public ClippedMeanCombiner(double bound)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bound);
        _bound = bound;
    }

    /// <summary>DP-FedAvg with clip norm <paramref name="clipNorm"/> and noise multiplier <paramref name="noiseMultiplier"/>.</summary>
    public ClippedMeanCombiner(double clipNorm, double noiseMultiplier, GaussianNoise noise)
        : this(clipNorm)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(noiseMultiplier);
        ArgumentNullException.ThrowIfNull(noise);
        _noiseMultiplier = noiseMultiplier;
        _noise = noise;
    }

    public bool NeedsAllUpdatesAtOnce => false;

    public float[] Combine(AggregationInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var accumulator = new float[input.Layout.Length];
        var isPrivate = _noiseMultiplier is not null;
        var divisor = isPrivate ? Math.Max(input.ExpectedClients, 1) : 1.0;
        var weights = isPrivate ? null : input.NormalizedWeights();
        var values = new float[UpdateValidator.ChunkElements];
        for (var i = 0; i < input.Accepted.Count; i++)
        {
            var (update, validation) = input.Accepted[i];
            var scale = validation.DeltaNorm > _bound ? _bound / validation.DeltaNorm : 1.0;
            var coefficient = (float)((weights?[i] ?? 1.0) * scale / divisor);
            using var reader = update.Open();
            foreach (var (entry, offset, length) in input.Layout.Chunks(UpdateValidator.ChunkElements))
            {
                var chunk = values.AsSpan(0, length);
                reader.Read(entry.Name, offset, chunk);
                var start = (int)entry.Offset + offset;
                TensorPrimitives.Subtract(chunk, input.GlobalFlat.AsSpan(start, length), chunk);
                var target = accumulator.AsSpan(start, length);
                TensorPrimitives.MultiplyAdd(chunk, coefficient, target, target);
            }
        }

        if (isPrivate && input.Accepted.Count > 0)
        {
            var std = _noiseMultiplier!.Value * _bound / divisor;
            foreach (var entry in input.Layout.Entries.Where(e => !e.Frozen))
            {
                _noise!.AddTo(accumulator.AsSpan((int)entry.Offset, entry.Length), std);
            }
        }

        return accumulator;
    }
}

/// <summary>Which coordinate-wise statistic to take.</summary>
public enum CoordinateStatistic
{
    Median,
    TrimmedMean,
}

/// <summary>
/// Coordinate-wise median or trimmed mean (Yin et al. 2018), unweighted. Every update is opened at once but
/// only a chunk of coordinates is read from each at a time: memory O(model + K·chunk).
/// </summary>
public sealed class CoordinateWiseCombiner : IUpdateCombiner
{
    private const int BufferElements = 1 << 20;

    private readonly CoordinateStatistic _statistic;
    private readonly double _trimFraction;

    public CoordinateWiseCombiner(CoordinateStatistic statistic, double trimFraction = 0)
    {
        if (trimFraction is < 0 or >= 0.5)
        {
            throw new ArgumentOutOfRangeException(nameof(trimFraction), trimFraction, "The trim fraction must be in [0, 0.5).");
        }

        _statistic = statistic;
        _trimFraction = trimFraction;
    }

    public bool NeedsAllUpdatesAtOnce => true;

    public float[] Combine(AggregationInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var delta = new float[input.Layout.Length];
        var k = input.Accepted.Count;
        if (k == 0)
        {
            return delta;
        }

        var readers = new List<IUpdateReader>(k);
        try
        {
            foreach (var (update, _) in input.Accepted)
            {
                readers.Add(update.Open());
            }

            var chunk = Math.Max(64, BufferElements / k);
            var rows = new float[k * chunk];
            var column = new float[k];
            var trim = _statistic == CoordinateStatistic.TrimmedMean ? (int)(_trimFraction * k) : 0;
            foreach (var (entry, offset, length) in input.Layout.Chunks(chunk))
            {
                for (var i = 0; i < k; i++)
                {
                    readers[i].Read(entry.Name, offset, rows.AsSpan(i * chunk, length));
                }

                var start = (int)entry.Offset + offset;
                for (var j = 0; j < length; j++)
                {
                    for (var i = 0; i < k; i++)
                    {
                        column[i] = rows[(i * chunk) + j];
                    }

                    Array.Sort(column);
                    var value = _statistic == CoordinateStatistic.Median ? Median(column) : TrimmedMean(column, trim);
                    delta[start + j] = (float)(value - input.GlobalFlat[start + j]);
                }
            }
        }
        finally
        {
            foreach (var reader in readers)
            {
                reader.Dispose();
            }
        }

        return delta;
    }

    private static double Median(float[] sorted)
    {
        var mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : ((double)sorted[mid - 1] + sorted[mid]) / 2;
    }

    private static double TrimmedMean(float[] sorted, int trim)
    {
        double sum = 0;
        for (var i = trim; i < sorted.Length - trim; i++)
        {
            sum += sorted[i];
        }

        return sum / (sorted.Length - (2 * trim));
    }
}
