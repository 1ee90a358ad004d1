using FedTune.Core.Adapters;

namespace FedTune.Core.Aggregation;

/// <summary>What a combiner sees: the global parameters, the layout, and the accepted updates (opened on demand).</summary>
public sealed class AggregationInput
{
    internal AggregationInput(LoraAdapter global, AdapterLayout layout, float[] globalFlat, IReadOnlyList<(ClientUpdate Update, UpdateValidationResult Validation)> accepted, int expectedClients, double[]? weights = null)
    {
        Global = global;
        Layout = layout;
        GlobalFlat = globalFlat;
        Accepted = accepted;
        ExpectedClients = expectedClients;
        Weights = weights ?? accepted.Select(a => a.Update.ExampleCount).ToArray();
    }

    public LoraAdapter Global { get; }

    public AdapterLayout Layout { get; }

    /// <summary>The global parameters as one flat vector (read-only by convention).</summary>
    public float[] GlobalFlat { get; }

    /// <summary>Accepted updates with their validation (delta norm, weight).</summary>
    public IReadOnlyList<(ClientUpdate Update, UpdateValidationResult Validation)> Accepted { get; }

    /// <summary>Clients the round sampled (DP divides the noisy sum by this, not by the accepted count).</summary>
    public int ExpectedClients { get; }

    /// <summary>The bounded weight of each accepted update (<see cref="UpdateWeighting"/>), in <see cref="Accepted"/> order.</summary>
    public IReadOnlyList<double> Weights { get; }

    /// <summary>The bounded weights normalized to sum to 1.</summary>
    public double[] NormalizedWeights()
    {
        var total = Weights.Sum();
        return Weights.Select(w => w / total).ToArray();
    }
}
