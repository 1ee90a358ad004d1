namespace FedTune.Core.Aggregation;

/// <summary>Applies a round's combined delta to the global parameters.</summary>
public interface IServerOptimizer
{
    void Step(AdapterLayoutView layout, Span<float> global, ReadOnlySpan<float> delta, ServerOptimizerState state);
}

/// <summary>x ← x + lr·Δ (FedAvg with lr = 1).</summary>
public sealed class PlainServerStep(double learningRate = 1.0) : IServerOptimizer
{
    public void Step(AdapterLayoutView layout, Span<float> global, ReadOnlySpan<float> delta, ServerOptimizerState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        foreach (var (offset, length) in layout.TrainableRanges)
        {
            var x = global.Slice(offset, length);
            System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(delta.Slice(offset, length), (float)learningRate, x, x);
        }

        state.Round++;
    }
}

/// <summary>
/// FedAvgM (Hsu et al. 2019, as Flower's FedAvgM): m ← β·m + Δ (m = Δ in the first round), x ← x + lr·m.
/// </summary>
public sealed class MomentumServerStep(double learningRate, double momentum) : IServerOptimizer
{
    public void Step(AdapterLayoutView layout, Span<float> global, ReadOnlySpan<float> delta, ServerOptimizerState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var first = state.M is null;
        var m = state.EnsureM(layout.Length, 0f);
        foreach (var (offset, length) in layout.TrainableRanges)
        {
            for (var j = offset; j < offset + length; j++)
            {
                m[j] = first ? delta[j] : (float)((momentum * m[j]) + delta[j]);
                global[j] += (float)(learningRate * m[j]);
            }
        }

        state.Round++;
    }
}

/// <summary>Which adaptive server optimizer (Reddi et al. 2021, "Adaptive Federated Optimization", Algorithm 2).</summary>
public enum AdaptiveKind
{
    Adagrad,
    Adam,
    Yogi,
}

/// <summary>
/// FedAdagrad / FedAdam / FedYogi, exactly Algorithm 2 of Reddi et al. 2021 (no bias correction):
/// m ← β₁m + (1−β₁)Δ; v ← v + Δ² (Adagrad) | β₂v + (1−β₂)Δ² (Adam) | v − (1−β₂)Δ²·sign(v − Δ²) (Yogi);
/// x ← x + η·m / (√v + τ). State starts at m = 0, v = τ².
/// </summary>
public sealed class AdaptiveServerStep(AdaptiveKind kind, double eta, double beta1, double beta2, double tau) : IServerOptimizer
{
    public void Step(AdapterLayoutView layout, Span<float> global, ReadOnlySpan<float> delta, ServerOptimizerState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var m = state.EnsureM(layout.Length, 0f);
        var v = state.EnsureV(layout.Length, (float)(tau * tau));
        foreach (var (offset, length) in layout.TrainableRanges)
        {
            for (var j = offset; j < offset + length; j++)
            {
                double d = delta[j];
                var mj = (beta1 * m[j]) + ((1 - beta1) * d);
                double vj = v[j];
                var d2 = d * d;
                vj = kind switch
                {
                    AdaptiveKind.Adagrad => vj + d2,
                    AdaptiveKind.Adam => (beta2 * vj) + ((1 - beta2) * d2),
                    _ => vj - ((1 - beta2) * d2 * Math.Sign(vj - d2)),
                };
                m[j] = (float)mj;
                v[j] = (float)vj;
                global[j] += (float)(eta * mj / (Math.Sqrt(vj) + tau));
            }
        }

        state.Round++;
    }
}
