using FedTune.Core.Adapters;

namespace FedTune.Orchestration.Aggregation;

/// <summary>
/// Streams updates into a weighted sum (double precision, one update in memory at a time) and yields the
/// weighted mean: FedAvg. Also accumulates the mean of the LoRA products B·A per module, for the product error.
/// </summary>
public sealed class WeightedAdapterSum
{
    private readonly Dictionary<string, double[]> _sums = new(StringComparer.Ordinal);
    private readonly Dictionary<string, double[]> _productSums = new(StringComparer.Ordinal);
    private LoraAdapter? _template;
    private double _totalWeight;

    public int Count { get; private set; }
    public double TotalWeight => _totalWeight;

    /// <summary>The first update added (defines names and shapes), or null.</summary>
    public LoraAdapter? Template => _template;

    public void Add(LoraAdapter update, double weight, bool trackProducts)
    {
        ArgumentNullException.ThrowIfNull(update);
        if (!(weight > 0) || !double.IsFinite(weight)) throw new ArgumentOutOfRangeException(nameof(weight), weight, "Weights must be positive.");
        _template ??= update;
        foreach (var tensor in update.Tensors)
        {
            if (!_sums.TryGetValue(tensor.Name, out var sum)) _sums[tensor.Name] = sum = new double[tensor.Data.Length];
            var data = tensor.Data;
            for (int i = 0; i < data.Length; i++) sum[i] += weight * data[i];
        }
        if (trackProducts)
        {
            foreach (var (module, a, b) in LoraPairs(update))
            {
                var product = Multiply(b, a);
                if (!_productSums.TryGetValue(module, out var sum)) _productSums[module] = sum = new double[product.Length];
                for (int i = 0; i < product.Length; i++) sum[i] += weight * product[i];
            }
        }
        _totalWeight += weight;
        Count++;
    }

    /// <summary>The weighted mean as an adapter with the first update's config and tensor order.</summary>
    public LoraAdapter Mean()
    {
        var template = _template ?? throw new InvalidOperationException("No update was added.");
        return template.With(t =>
        {
            var sum = _sums[t.Name];
            var mean = new float[sum.Length];
            for (int i = 0; i < sum.Length; i++) mean[i] = (float)(sum[i] / _totalWeight);
            return mean;
        });
    }

    /// <summary>
    /// Relative Frobenius error between the product of the averaged factors and the average of the products,
    /// <c>||B̄Ā - mean(BA)|| / ||mean(BA)||</c> over all modules (0 when every update is identical); null if not tracked.
    /// </summary>
    public double? ProductError(LoraAdapter mean)
    {
        ArgumentNullException.ThrowIfNull(mean);
        if (_productSums.Count == 0) return null;
        double diff = 0, norm = 0;
        foreach (var (module, a, b) in LoraPairs(mean))
        {
            var product = Multiply(b, a);
            var sum = _productSums[module];
            for (int i = 0; i < product.Length; i++)
            {
                double target = sum[i] / _totalWeight;
                double d = product[i] - target;
                diff += d * d;
                norm += target * target;
            }
        }
        return norm == 0 ? (diff == 0 ? 0 : double.PositiveInfinity) : Math.Sqrt(diff / norm);
    }

    private static IEnumerable<(string Module, LoraTensor A, LoraTensor B)> LoraPairs(LoraAdapter adapter)
    {
        foreach (var tensor in adapter.Tensors)
        {
            if (PeftKeys.IsLoraA(tensor.Name, out var module) && adapter.TryGet(module + PeftKeys.LoraBSuffix, out var b))
            {
                yield return (module, tensor, b);
            }
        }
    }

    /// <summary>B [out, r] × A [r, in] → [out, in], row-major.</summary>
    private static double[] Multiply(LoraTensor b, LoraTensor a)
    {
        int outDim = (int)b.Shape[0], rank = (int)b.Shape[1], inDim = (int)a.Shape[1];
        var result = new double[outDim * inDim];
        for (int o = 0; o < outDim; o++)
        {
            for (int k = 0; k < rank; k++)
            {
                double bv = b.Data[o * rank + k];
                if (bv == 0) continue;
                int aRow = k * inDim, rRow = o * inDim;
                for (int i = 0; i < inDim; i++) result[rRow + i] += bv * a.Data[aRow + i];
            }
        }
        return result;
    }
}
