using System.Numerics.Tensors;
using FedTune.Core.Adapters;

namespace FedTune.Core.Aggregation;

/// <summary>
/// How far averaging A and B separately is from averaging the products, for one LoRA module:
/// ‖Σcᵢ BᵢAᵢ − (ΣcᵢBᵢ)(ΣcᵢAᵢ)‖_F, absolute and relative to ‖Σcᵢ BᵢAᵢ‖_F (cᵢ = example weights).
/// Zero when A is frozen and shared (freeze-A), since then Σcᵢ BᵢA = (ΣcᵢBᵢ)A.
/// </summary>
public sealed record LoraProductError(string Module, double Absolute, double Relative)
{
    /// <summary>
    /// Computes the error for every LoRA module over the given updates. Opens all updates at once and reads
    /// one module at a time: memory is one out×in matrix plus K·r·(in + out) values.
    /// </summary>
    public static IReadOnlyList<LoraProductError> Compute(AggregationInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var k = input.Accepted.Count;
        var results = new List<LoraProductError>();
        if (k == 0)
        {
            return results;
        }

        var weights = input.NormalizedWeights();
        var readers = new List<IUpdateReader>(k);
        try
        {
            foreach (var (update, _) in input.Accepted)
            {
                readers.Add(update.Open());
            }

            foreach (var module in input.Global.LoraModules)
            {
                results.Add(ComputeModule(input.Global, module, readers, weights));
            }
        }
        finally
        {
            foreach (var reader in readers)
            {
                reader.Dispose();
            }
        }

        return results;
    }

    /// <summary>The error over all modules together: sqrt(Σ abs²) / sqrt(Σ (abs/rel)²).</summary>
    public static double Overall(IReadOnlyList<LoraProductError> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        double difference = 0, reference = 0;
        foreach (var e in errors)
        {
            difference += e.Absolute * e.Absolute;
            if (e.Relative > 0 && double.IsFinite(e.Relative))
            {
                var norm = e.Absolute / e.Relative;
                reference += norm * norm;
            }
        }

        return reference > 0 ? Math.Sqrt(difference / reference) : 0;
    }

    private static LoraProductError ComputeModule(LoraAdapter global, string module, List<IUpdateReader> readers, double[] weights)
    {
        var aName = module + PeftKeys.LoraASuffix;
        var bName = module + PeftKeys.LoraBSuffix;
        var aShape = global[aName].Shape;
        var bShape = global[bName].Shape;
        var (r, inFeatures, outFeatures) = ((int)aShape[0], (int)aShape[1], (int)bShape[0]);
        var meanA = new float[r * inFeatures];
        var meanB = new float[outFeatures * r];
        var meanProduct = new float[outFeatures * inFeatures];
        var a = new float[r * inFeatures];
        var b = new float[outFeatures * r];
        for (var i = 0; i < readers.Count; i++)
        {
            readers[i].Read(aName, 0, a);
            readers[i].Read(bName, 0, b);
            var c = (float)weights[i];
            TensorPrimitives.MultiplyAdd(a, c, meanA, meanA);
            TensorPrimitives.MultiplyAdd(b, c, meanB, meanB);
            AddProduct(b, a, c, meanProduct, outFeatures, r, inFeatures);
        }

        double differenceSquares = 0;
        var row = new float[inFeatures];
        for (var o = 0; o < outFeatures; o++)
        {
            Array.Clear(row);
            for (var j = 0; j < r; j++)
            {
                TensorPrimitives.MultiplyAdd(meanA.AsSpan(j * inFeatures, inFeatures), meanB[(o * r) + j], row, row);
            }

            TensorPrimitives.Subtract(meanProduct.AsSpan(o * inFeatures, inFeatures), row, row);
            differenceSquares += TensorPrimitives.SumOfSquares<float>(row);
        }

        var absolute = Math.Sqrt(differenceSquares);
        var reference = Math.Sqrt(TensorPrimitives.SumOfSquares<float>(meanProduct));
        var relative = reference > 0 ? absolute / reference : (absolute > 0 ? double.PositiveInfinity : 0);
        return new LoraProductError(module, absolute, relative);
    }

    private static void AddProduct(float[] b, float[] a, float c, float[] target, int outFeatures, int r, int inFeatures)
    {
        for (var o = 0; o < outFeatures; o++)
        {
            var targetRow = target.AsSpan(o * inFeatures, inFeatures);
            for (var j = 0; j < r; j++)
            {
                TensorPrimitives.MultiplyAdd(a.AsSpan(j * inFeatures, inFeatures), c * b[(o * r) + j], targetRow, targetRow);
            }
        }
    }
}
