namespace FedTune.Core.Aggregation;

/// <summary>
/// A server-side strategy: combines the accepted updates into one delta (a combiner: weighted mean, clipped mean,
/// DP mean, median, trimmed mean) and applies it to the global parameters (a server optimizer: plain step,
/// momentum, Adagrad, Adam, Yogi), updating the persisted <see cref="ServerOptimizerState"/>.
/// </summary>
public interface IAggregationStrategy
{
    /// <summary>Name for reports (e.g. "fedadam", "dp-fedavg").</summary>
    string Name { get; }

    /// <summary>True when the combiner needs every update open at once (coordinate-wise statistics).</summary>
    bool NeedsAllUpdatesAtOnce { get; }

    /// <summary>The round's aggregated delta over the flat layout (frozen ranges stay 0).</summary>
    float[] CombineDeltas(AggregationInput input);

    /// <summary>Applies <paramref name="delta"/> to <paramref name="global"/> in place, skipping frozen ranges.</summary>
    void ApplyServerStep(AdapterLayoutView layout, Span<float> global, ReadOnlySpan<float> delta, ServerOptimizerState state);
}

/// <summary>The non-frozen ranges of the flat vector, for server optimizers.</summary>
public readonly struct AdapterLayoutView
{
    private readonly AdapterLayout _layout;

    public AdapterLayoutView(AdapterLayout layout) => _layout = layout;

    /// <summary>(offset, length) of every non-frozen tensor.</summary>
    public IEnumerable<(int Offset, int Length)> TrainableRanges =>
        _layout.Entries.Where(e => !e.Frozen).Select(e => ((int)e.Offset, e.Length));

    public long Length => _layout.Length;
}
