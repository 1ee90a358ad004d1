using TorchSharp;
using static TorchSharp.torch;

namespace FedTune.Training.Trainer;

/// <summary>
/// AdamW exactly as PyTorch's single-tensor <c>torch.optim.AdamW</c> computes it (decoupled weight decay
/// <c>p ← p·(1 − lr·wd)</c>, then the bias-corrected Adam update), with the weight decay always explicit.
/// Its moments are plain named tensors so checkpoints can save and restore them exactly. The learning rate is
/// given per step (the scheduler's value).
/// </summary>
public sealed class AdamWOptimizer : IDisposable
{
    private readonly IReadOnlyList<KeyValuePair<string, TorchSharp.Modules.Parameter>> _parameters;
    private readonly Dictionary<string, Tensor> _expAvg = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Tensor> _expAvgSq = new(StringComparer.Ordinal);
    private readonly double _beta1;
    private readonly double _beta2;
    private readonly double _epsilon;
    private readonly double _weightDecay;

    public AdamWOptimizer(IEnumerable<KeyValuePair<string, TorchSharp.Modules.Parameter>> parameters, double beta1, double beta2, double epsilon, double weightDecay)
    {
        _parameters = parameters.ToList();
        _beta1 = beta1;
        _beta2 = beta2;
        _epsilon = epsilon;
        _weightDecay = weightDecay;
        foreach (var (name, parameter) in _parameters)
        {
            _expAvg[name] = torch.zeros_like(parameter).DetachFromDisposeScope();
            _expAvgSq[name] = torch.zeros_like(parameter).DetachFromDisposeScope();
        }
    }

    /// <summary>Optimizer steps taken (PyTorch's per-parameter <c>step</c>, the same for all here).</summary>
    public long StepCount { get; private set; }

    /// <summary>Applies one update with learning rate <paramref name="learningRate"/>; parameters without a gradient are skipped.</summary>
    public void Step(double learningRate)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        StepCount++;
        var biasCorrection1 = 1 - Math.Pow(_beta1, StepCount);
        var biasCorrection2Sqrt = Math.Sqrt(1 - Math.Pow(_beta2, StepCount));
        foreach (var (name, parameter) in _parameters)
        {
            var grad = parameter.grad;
            if (grad is null)
            {
                continue;
            }

            var expAvg = _expAvg[name];
            var expAvgSq = _expAvgSq[name];
            parameter.mul_(1 - learningRate * _weightDecay);
            expAvg.mul_(_beta1).add_(grad, alpha: 1 - _beta1);
            expAvgSq.mul_(_beta2).addcmul_(grad, grad, value: 1 - _beta2);
            var denominator = expAvgSq.sqrt().div_(biasCorrection2Sqrt).add_(_epsilon);
            parameter.addcdiv_(expAvg, denominator, value: -learningRate / biasCorrection1);
        }
    }

    /// <summary>Zeroes every parameter's gradient (keeps the buffers, like <c>zero_grad(set_to_none=False)</c>).</summary>
    public void ZeroGrad()
    {
        using var scope = torch.NewDisposeScope();
        foreach (var (_, parameter) in _parameters)
        {
            parameter.grad?.zero_();
        }
    }

    /// <summary>The moments, named <c>exp_avg/NAME</c> and <c>exp_avg_sq/NAME</c>.</summary>
    public IEnumerable<KeyValuePair<string, Tensor>> StateTensors() =>
        _expAvg.Select(p => KeyValuePair.Create("exp_avg/" + p.Key, p.Value))
            .Concat(_expAvgSq.Select(p => KeyValuePair.Create("exp_avg_sq/" + p.Key, p.Value)));

    /// <summary>Restores moments and step count saved by <see cref="StateTensors"/>.</summary>
    public void LoadState(IReadOnlyDictionary<string, Tensor> state, long stepCount)
    {
        ArgumentNullException.ThrowIfNull(state);
        using var noGrad = torch.no_grad();
        foreach (var (name, tensor) in StateTensors())
        {
            if (!state.TryGetValue(name, out var saved))
            {
                throw new InvalidDataException($"The checkpoint's optimizer state has no '{name}': it was written for other adapter parameters.");
            }

            tensor.copy_(saved);
        }

        StepCount = stepCount;
    }

    public void Dispose()
    {
        foreach (var tensor in _expAvg.Values.Concat(_expAvgSq.Values))
        {
            tensor.Dispose();
        }
    }
}
