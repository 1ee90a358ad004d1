using FedTune.Core.Adapters;
using FedTune.Core.Configuration;
using FedTune.Core.Privacy;

namespace FedTune.Core.Aggregation;

/// <summary>Per-round facts the aggregator needs from the orchestrator.</summary>
/// <param name="Round">1-based round number.</param>
/// <param name="SampledClients">Clients asked to train this round (DP divides by it; also the q numerator).</param>
/// <param name="TotalClients">Clients in the federation (q = SampledClients / TotalClients).</param>
/// <param name="MinimumAccepted">Fewest accepted updates for the round to count (min_fit_clients).</param>
public sealed record RoundContext(int Round, int SampledClients, int TotalClients, int MinimumAccepted)
{
    /// <summary>
    /// Set when the round was drawn by Poisson sampling (each client independently with this probability), as the DP
    /// accountant assumes: the accountant uses it as q and DP divides the noisy sum by q × TotalClients.
    /// Null: a fixed-size sample, q = SampledClients / TotalClients.
    /// </summary>
    public double? PoissonRate { get; init; }
}

/// <summary>DP accounting after a round.</summary>
public sealed record PrivacyReport(double Epsilon, double Delta, double BestOrder, long Rounds, double SamplingRate, double NoiseMultiplier);

/// <summary>Everything one aggregation round produced.</summary>
public sealed record AggregationResult
{
    /// <summary>The new global adapter (the old one, unchanged, when the quorum was not met).</summary>
    public required LoraAdapter Global { get; init; }

    /// <summary>State to persist for the next round.</summary>
    public required ServerOptimizerState State { get; init; }

    /// <summary>One entry per update, in input order.</summary>
    public required IReadOnlyList<UpdateValidationResult> Validations { get; init; }

    public int AcceptedCount => Validations.Count(v => v.Accepted);

    /// <summary>False when fewer than MinimumAccepted updates passed validation; nothing was aggregated.</summary>
    public required bool QuorumMet { get; init; }

    /// <summary>Per-module LoRA product error (empty when disabled or when the quorum was not met).</summary>
    public IReadOnlyList<LoraProductError> LoraProductErrors { get; init; } = [];

    /// <summary>Overall relative product error over all modules.</summary>
    public double LoraProductErrorOverall => LoraProductError.Overall(LoraProductErrors);

    /// <summary>Each accepted client's share of the round (its bounded weight over the sum; 1 / divisor under DP).</summary>
    public IReadOnlyDictionary<string, double> Shares { get; init; } = new Dictionary<string, double>();

    /// <summary>L2 norm of the applied combined delta (before the server optimizer).</summary>
    public double CombinedDeltaNorm { get; init; }

    /// <summary>Privacy spent so far (null without DP).</summary>
    public PrivacyReport? Privacy { get; init; }

    /// <summary>The accountant to persist (null without DP).</summary>
    public RdpAccountant? Accountant { get; init; }
}

/// <summary>
/// Runs one round of server aggregation over updates streamed one at a time: validate every update (one read
/// each; for FedAvg-family strategies without DP that same read also hashes and averages it), check the quorum, combine the accepted ones with the strategy (one more read each, or chunked reads
/// of all at once for coordinate-wise strategies), apply the server optimizer, report the LoRA product error
/// and the privacy spent. Memory stays O(model) whatever the number of clients.
/// </summary>
public sealed class StreamingAggregator
{
    private readonly IAggregationStrategy _strategy;
    private readonly UpdateValidator _validator;
    private readonly DifferentialPrivacyConfig? _privacy;

    public StreamingAggregator(IAggregationStrategy strategy, UpdateValidator validator, DifferentialPrivacyConfig? privacy = null)
    {
        ArgumentNullException.ThrowIfNull(strategy);
        ArgumentNullException.ThrowIfNull(validator);
        _strategy = strategy;
        _validator = validator;
        _privacy = privacy;
    }

    /// <summary>
    /// Reads each FedAvg-family update once (hash, validation and averaging in one pass; see
    /// <see cref="FusedWeightedMeanRound"/>). Default true; false always takes the reference path (validate every
    /// update, then combine), which gives the identical result.
    /// </summary>
    public bool SinglePass { get; init; } = true;

    /// <summary>Computes the LoRA product error each round (reads each update once more). Default true.</summary>
    public bool ReportLoraProductError { get; init; } = true;

    /// <summary>Names of tensors that are frozen and shared (e.g. every lora_A under freeze-A): not averaged, must not change.</summary>
    public Func<string, bool>? IsFrozen { get; init; }

    /// <summary>How declared example counts become bounded weights (default: the declared counts, as plain FedAvg).</summary>
    public UpdateWeighting Weighting { get; init; } = UpdateWeighting.Declared;

    public AggregationResult Aggregate(
        LoraAdapter global,
        IReadOnlyList<ClientUpdate> updates,
        RoundContext round,
        ServerOptimizerState? state = null,
        RdpAccountant? accountant = null)
    {
        ArgumentNullException.ThrowIfNull(global);
        ArgumentNullException.ThrowIfNull(updates);
        ArgumentNullException.ThrowIfNull(round);
        var layout = new AdapterLayout(global, IsFrozen);
        var nextState = state?.Clone() ?? new ServerOptimizerState { Strategy = _strategy.Name };
        if (nextState.Strategy.Length > 0 && nextState.Strategy != _strategy.Name)
        {
            throw new InvalidOperationException($"The saved server state belongs to strategy '{nextState.Strategy}', not '{_strategy.Name}'; the strategy cannot change mid-run.");
        }

        nextState.Strategy = _strategy.Name;
        var flat = layout.Flatten(global);
        var fused = SinglePass ? TrySinglePass(global, layout, flat, updates) : null;
        IReadOnlyList<UpdateValidationResult> validations = fused?.Validations ?? _validator.ValidateAll(global, layout, updates);
        var accepted = updates.Zip(validations).Where(p => p.Second.Accepted).ToList();
        var nextAccountant = accountant?.Clone() ?? (_privacy is null ? null : new RdpAccountant());
        if (accepted.Count < Math.Max(1, round.MinimumAccepted))
        {
            return new AggregationResult
            {
                Global = global,
                State = state?.Clone() ?? nextState,
                Validations = validations,
                QuorumMet = false,
                Accountant = accountant,
                Privacy = accountant is null || _privacy is null ? null : Report(accountant, round),
            };
        }

        var expected = round.PoissonRate is { } rate
            ? Math.Max(1, (int)Math.Round(rate * round.TotalClients))
            : Math.Max(round.SampledClients, accepted.Count);
        var weights = Weighting.Weights(accepted.Select(a => a.First.ExampleCount).ToArray());
        var input = new AggregationInput(global, layout, flat, accepted, expected, weights);
        var delta = fused?.Delta ?? _strategy.CombineDeltas(input);
        var deltaNorm = Math.Sqrt(System.Numerics.Tensors.TensorPrimitives.SumOfSquares<float>(delta));
        var productErrors = ReportLoraProductError ? LoraProductError.Compute(input) : [];
        _strategy.ApplyServerStep(new AdapterLayoutView(layout), flat, delta, nextState);
        if (nextAccountant is not null && _privacy is not null)
        {
            nextAccountant.AddSteps(SamplingRate(round), _privacy.NoiseMultiplier);
        }

        return new AggregationResult
        {
            Global = layout.Unflatten(global, flat),
            State = nextState,
            Validations = validations,
            QuorumMet = true,
            Shares = Shares(input),
            LoraProductErrors = productErrors,
            CombinedDeltaNorm = deltaNorm,
            Accountant = nextAccountant,
            Privacy = nextAccountant is null ? null : Report(nextAccountant, round),
        };
    }

    /// <summary>
    /// FedAvg-family rounds without DP read each wire update once: hashed on other threads while it is validated and
    /// added in (<see cref="FusedWeightedMeanRound"/>). Null when that does not apply or some update is not accepted:
    /// the reference path (validate every update, then combine) runs instead.
    /// </summary>
    private (List<UpdateValidationResult> Validations, float[] Delta)? TrySinglePass(LoraAdapter global, AdapterLayout layout, float[] flat, IReadOnlyList<ClientUpdate> updates)
    {
        if (_privacy is not null || _strategy is not AggregationStrategy { Combiner: WeightedMeanCombiner } || updates.Count == 0
            || updates.Any(u => !double.IsFinite(u.ExampleCount) || u.ExampleCount <= 0))
        {
            return null;
        }

        // The weights the reference path gives when every update is accepted (AggregationInput.NormalizedWeights).
        var weights = Weighting.Weights(updates.Select(u => u.ExampleCount).ToArray());
        var total = weights.Sum();
        return FusedWeightedMeanRound.TryRun(_validator, global, layout, flat, updates, weights.Select(w => w / total).ToArray());
    }

    private Dictionary<string, double> Shares(AggregationInput input)
    {
        var ids = input.Accepted.Select(a => a.Update.ClientId).ToArray();
        double[] shares = _privacy is not null
            ? ids.Select(_ => 1.0 / input.ExpectedClients).ToArray()
            : _strategy.NeedsAllUpdatesAtOnce ? ids.Select(_ => 1.0 / ids.Length).ToArray() : input.NormalizedWeights();
        return ids.Zip(shares).ToDictionary(p => p.First, p => p.Second, StringComparer.Ordinal);
    }

    private PrivacyReport Report(RdpAccountant accountant, RoundContext round)
    {
        var (epsilon, order) = accountant.GetEpsilon(_privacy!.Delta);
        return new PrivacyReport(epsilon, _privacy.Delta, order, accountant.Steps, SamplingRate(round), _privacy.NoiseMultiplier);
    }

    private static double SamplingRate(RoundContext round) =>
        round.PoissonRate ?? (round.TotalClients <= 0 ? 1.0 : Math.Clamp((double)round.SampledClients / round.TotalClients, 0, 1));
}
