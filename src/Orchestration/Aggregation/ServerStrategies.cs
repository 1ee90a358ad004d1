using FedTune.Core.Adapters;
using FedTune.Orchestration.Orchestrators;

namespace FedTune.Orchestration.Aggregation;

/// <summary>One round of a server strategy: updates stream in, then <see cref="Finish"/> gives the new global adapter.</summary>
public interface IServerRound
{
    /// <summary>The first accepted update (defines shapes when there is no global adapter yet).</summary>
    LoraAdapter? Template { get; }

    void Add(LoraAdapter update, long exampleCount);

    ServerStepResult Finish();
}

/// <summary>The new global adapter, the server state to keep (or null), the LoRA product error and the DP epsilon so far.</summary>
public sealed record ServerStepResult(LoraAdapter Global, byte[]? ServerState, double? ProductError, double? Epsilon);

/// <summary>Creates the server round for the configured strategy.</summary>
public static class ServerStrategies
{
    /// <summary>Strategies whose server step is the example-weighted mean (FedProx differs only on the clients).</summary>
    public static readonly IReadOnlySet<string> WeightedMean = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "fedavg", "fedprox" };

    /// <summary>Null when the aggregation can run <paramref name="strategy"/>; else what is wrong and what to use instead.</summary>
    public static string? SupportProblem(string strategy, bool differentialPrivacy) =>
        WeightedMean.Contains(strategy) && !differentialPrivacy
            ? null
            : $"'{strategy}'{(differentialPrivacy ? " with differential_privacy" : "")} is not available in this orchestrator build. " +
              $"Fix: use one of {string.Join(", ", WeightedMean)} without differential_privacy.";

    public static IServerRound Create(AggregateRequest request, LoraAdapter? global)
    {
        ArgumentNullException.ThrowIfNull(request);
        var problem = SupportProblem(request.Aggregation.Strategy, request.Aggregation.DifferentialPrivacy != null);
        if (problem != null) throw new ArgumentException(problem, nameof(request));
        return new FedAvgRound(global);
    }

    /// <summary>FedAvg: the example-weighted mean of the updates.</summary>
    private sealed class FedAvgRound(LoraAdapter? global) : IServerRound
    {
        private readonly WeightedAdapterSum _sum = new();
        private bool? _trackProducts;

        public LoraAdapter? Template => _sum.Template;

        public void Add(LoraAdapter update, long exampleCount)
        {
            _trackProducts ??= ProductElements(global ?? update) <= Activities.AggregateRoundActivity.MaxProductElements;
            _sum.Add(update, exampleCount, _trackProducts.Value);
        }

        public ServerStepResult Finish()
        {
            var mean = _sum.Mean();
            return new ServerStepResult(mean, null, _sum.ProductError(mean), null);
        }
    }

    internal static long ProductElements(LoraAdapter adapter)
    {
        long total = 0;
        foreach (var tensor in adapter.Tensors)
        {
            if (PeftKeys.IsLoraA(tensor.Name, out var module) && adapter.TryGet(module + PeftKeys.LoraBSuffix, out var b))
            {
                total += b.Shape[0] * tensor.Shape[1];
            }
        }
        return total;
    }
}
