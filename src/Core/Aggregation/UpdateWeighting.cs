namespace FedTune.Core.Aggregation;

/// <summary>How a hospital's aggregation weight is bounded (<c>federation.weighting</c>).</summary>
public enum WeightingKind
{
    /// <summary>
    /// min(declared examples, the examples the round let it consume: max_steps × batch × gradient accumulation).
    /// The default whenever the recipe trains a fixed number of steps.
    /// </summary>
    Budget,

    /// <summary>min(declared examples, cap × the round's median declared examples). The default when training by epochs.</summary>
    Capped,

    /// <summary>Every accepted update weighs the same.</summary>
    Uniform,
}

/// <summary>
/// Turns the example counts the hospitals declare into bounded aggregation weights, so that a self-reported count
/// (1e9, say) cannot give one hospital the round: under <see cref="WeightingKind.Budget"/> no weight exceeds the
/// round's budget, under <see cref="WeightingKind.Capped"/> none exceeds cap × the median, and under
/// <see cref="WeightingKind.Uniform"/> each is 1. A hospital's share of the round is its weight over the sum.
/// </summary>
public sealed record UpdateWeighting
{
    public WeightingKind Kind { get; init; } = WeightingKind.Budget;

    /// <summary>Examples one hospital could consume this round (Budget); must be positive for Budget.</summary>
    public double Budget { get; init; } = double.PositiveInfinity;

    /// <summary>Multiple of the median declared count a weight may reach (Capped).</summary>
    public double CapMultiple { get; init; } = 2;

    /// <summary>Plain FedAvg weighting by declared counts (tests and benchmarks that need Flower's exact numbers).</summary>
    public static UpdateWeighting Declared { get; } = new() { Kind = WeightingKind.Budget, Budget = double.PositiveInfinity };

    /// <summary>The bounded weight of each declared count (same order).</summary>
    public double[] Weights(IReadOnlyList<double> declared)
    {
        ArgumentNullException.ThrowIfNull(declared);
        switch (Kind)
        {
            case WeightingKind.Uniform:
                return declared.Select(_ => 1.0).ToArray();
            case WeightingKind.Capped:
                if (declared.Count == 0) return [];
                var cap = CapMultiple * UpdateValidator.Median(declared.ToArray());
                return declared.Select(d => Math.Min(d, cap)).ToArray();
            default:
                return declared.Select(d => Math.Min(d, Budget)).ToArray();
        }
    }

    /// <summary>A sentence for reports: what bounded the weights.</summary>
    public string Describe() => Kind switch
    {
        WeightingKind.Uniform => "uniform (every accepted update weighs the same)",
        WeightingKind.Capped => $"capped (declared examples, at most {CapMultiple:G4} × the round's median)",
        _ => double.IsPositiveInfinity(Budget)
            ? "declared examples (unbounded)"
            : $"budget (declared examples, at most {Budget:G6} = max_steps × batch × gradient accumulation)",
    };
}
