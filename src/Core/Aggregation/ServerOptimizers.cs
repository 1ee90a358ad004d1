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
/// FedAvgM (Hsu et al. 2019) exactly as Flower's <c>FedAvgM.aggregate_fit</c>: with the pseudo-gradient g = −Δ,
/// m ← g in the first round and β·m + g after, x ← x − lr·m; written here with Δ (m holds −m_Flower), which is the
/// same arithmetic. With β = 0 and lr = 1 it is plain FedAvg.
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
/// FedAdagrad / FedAdam / FedYogi as Flower's strategies compute them (flwr/server/strategy/fedadagrad.py, fedadam.py,
/// fedyogi.py), which follow Algorithm 2 of Reddi et al. 2021 with Flower's choices: m and v start at zero (not τ²);
/// m ← β₁m + (1−β₁)Δ; v ← v + Δ² (Adagrad) | β₂v + (1−β₂)Δ² (Adam) | v − (1−β₂)Δ²·sign(v − Δ²) (Yogi);
/// x ← x + η_t·m / (√v + τ), where η_t = η for Adagrad and Yogi and, for Adam only, Flower's bias-corrected
/// η_t = η·√(1−β₂^(t+1)) / (1−β₁^(t+1)) with t the server round (1 in the first). FedAdagrad's β₁ defaults to 0 as
/// in Flower. t counts the server steps this state has taken (a resumed run continues it).
/// </summary>
public sealed class AdaptiveServerStep(AdaptiveKind kind, double eta, double beta1, double beta2, double tau) : IServerOptimizer
{
    public void Step(AdapterLayoutView layout, Span<float> global, ReadOnlySpan<float> delta, ServerOptimizerState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var m = state.EnsureM(layout.Length, 0f);
        var v = state.EnsureV(layout.Length, 0f);
        double serverRound = state.Round + 1;
        var stepSize = kind == AdaptiveKind.Adam
            ? eta * Math.Sqrt(1 - Math.Pow(beta2, serverRound + 1)) / (1 - Math.Pow(beta1, serverRound + 1))
            : eta;
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
                global[j] += (float)(stepSize * mj / (Math.Sqrt(vj) + tau));
            }
        }

        state.Round++;
    }
}
