using FedTune.Orchestration.Plans;
using FedTune.Orchestration.Sampling;
using FedTune.Orchestration.Status;
using Microsoft.DurableTask;

namespace FedTune.Orchestration.Orchestrators;

/// <summary>
/// The federation: for each round, sample hospitals (deterministic from seed, round and attempt), write their tasks and
/// wait for their uploads (<see cref="RoundFanOut"/>: chunked activities, upload events, a slow safety-net timer),
/// check the quorum, aggregate, checkpoint, then
/// ContinueAsNew every <see cref="FederationPlan.RoundsPerExecution"/> rounds so the history stays small.
/// Deterministic: no I/O, clock or randomness except through the context and the seeded sampler.
/// </summary>
public sealed class FederationOrchestrator : TaskOrchestrator<FederationState, FederationResult?>
{
    public override async Task<FederationResult?> RunAsync(TaskOrchestrationContext context, FederationState input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        var state = input;
        var plan = state.Plan;
        if (state.Round == 0)
        {
            context.SetCustomStatus(StatusFor(state, FederationPhases.Starting, null));
            // Round 0: the global adapter every hospital starts round 1 from (a checkpoint, or a fresh one from the recipe).
            state = plan.StartFrom == null
                ? state with
                {
                    Round = 1, Attempt = 0,
                    GlobalAdapter = await context.CallActivityAsync<Core.Protocol.ContentRef>(TaskNames.CreateInitialAdapter,
                        new InitialAdapterRequest(plan.RunId, plan.BaseModelShape, plan.LoraConfig(), RoundTaskFactory.LoraInitSeed(plan.Seed)),
                        ActivityRetry.Options).ConfigureAwait(true),
                }
                : await ImportAsync(context, state).ConfigureAwait(true);
        }

        for (int executed = 0; ; executed++)
        {
            if (state.Round > plan.Rounds)
            {
                context.SetCustomStatus(StatusFor(state with { Round = plan.Rounds }, FederationPhases.Completed, null));
                return new FederationResult(plan.RunId, plan.Rounds, state.GlobalAdapter, state.Epsilon, state.History);
            }
            if (executed >= Math.Max(1, plan.RoundsPerExecution))
            {
                context.ContinueAsNew(state, preserveUnprocessedEvents: false);
                return null;
            }
            state = await RunRoundAsync(context, state).ConfigureAwait(true);
        }
    }

    private static async Task<FederationState> ImportAsync(TaskOrchestrationContext context, FederationState state)
    {
        var plan = state.Plan;
        var imported = await context.CallActivityAsync<ImportedCheckpoint>(TaskNames.ImportCheckpoint,
            new ImportCheckpointRequest(plan.RunId, plan.StartFrom!, plan.BaseModelShape, plan.LoraConfig()), ActivityRetry.Options).ConfigureAwait(true);
        return state with { Round = 1, Attempt = 0, GlobalAdapter = imported.GlobalAdapter, ServerState = imported.ServerState };
    }

    private static async Task<FederationState> RunRoundAsync(TaskOrchestrationContext context, FederationState state)
    {
        var plan = state.Plan;
        var roundStarted = new DateTimeOffset(context.CurrentUtcDateTime, TimeSpan.Zero);
        // Under DP with fraction_fit below 1 the round is drawn as the accountant assumes (Poisson, q = fraction_fit).
        bool poisson = plan.Aggregation.DifferentialPrivacy != null && plan.FractionFit < 1;
        var selected = poisson
            ? ClientSampler.SelectPoisson(plan.Hospitals, plan.Seed, state.Round, state.Attempt, plan.FractionFit)
            : ClientSampler.Select(plan.Hospitals, plan.Seed, state.Round, state.Attempt, plan.FractionFit, plan.MinFitClients, plan.MinAvailableClients);
        if (poisson && selected.Count < plan.MinFitClients)
        {
            return QuorumFailed(context, state, new RoundTracker(selected),
                $"Run {plan.RunId} round {state.Round} (attempt {state.Attempt + 1}): Poisson sampling (q = {plan.FractionFit}) drew {selected.Count} hospital(s), below min_fit_clients {plan.MinFitClients}.");
        }
        if (selected.Count == 0)
        {
            var size = ClientSampler.SizeFor(plan.Hospitals.Count, plan.FractionFit, plan.MinFitClients, plan.MinAvailableClients);
            throw new FederationFailedException($"Run {plan.RunId} cannot sample round {state.Round}: {size.Problem}. " +
                "Fix: add hospitals to the federation or lower min_available_clients / min_fit_clients.");
        }

        var tracker = new RoundTracker(selected);
        var secure = SecureAggregationPlanner.TaskFor(plan, state.Round, state.Attempt, selected.Count, roundStarted);
        context.SetCustomStatus(StatusFor(state, FederationPhases.Training, tracker));
        await RoundFanOut.WriteTasksAsync(context, plan, state.Round, state.Attempt, state.GlobalAdapter!, secure, roundStarted, selected).ConfigureAwait(true);
        var sharers = secure == null ? null : await SecureAggregationRelay.ExchangeKeysAsync(context, plan, state.Round, state.Attempt, selected, secure).ConfigureAwait(true);
        var outcomes = await RoundFanOut.CollectAsync(context, plan, state.Round, state.Attempt, selected, roundStarted + plan.RoundDeadline,
            manifestsAreUploads: secure == null, batch =>
        {
            foreach (var outcome in batch) tracker.Record(outcome);
            context.SetCustomStatus(StatusFor(state, FederationPhases.Training, tracker));
        }).ConfigureAwait(true);
        outcomes.Sort((a, b) => string.CompareOrdinal(a.HospitalId, b.HospitalId));

        var quorum = QuorumRules.Evaluate(outcomes, plan.MinFitClients);
        if (!quorum.Met)
        {
            return QuorumFailed(context, state, tracker, quorum.Explain(plan.RunId, state.Round, state.Attempt));
        }

        context.SetCustomStatus(StatusFor(state, FederationPhases.Aggregating, tracker));
        if (secure != null)
        {
            var uploaded = outcomes.Where(o => o.State == HospitalRoundState.Uploaded).Select(o => o.HospitalId).ToArray();
            await SecureAggregationRelay.RequestRevealAsync(context, plan, state.Round, state.Attempt, uploaded, secure).ConfigureAwait(true);
        }

        var aggregated = await context.CallActivityAsync<AggregateResult>(secure == null ? TaskNames.AggregateRound : TaskNames.AggregateSecureRound, new AggregateRequest
        {
            RunId = plan.RunId,
            Round = state.Round,
            Attempt = state.Attempt,
            TotalRounds = plan.Rounds,
            Seed = plan.Seed,
            MinFitClients = plan.MinFitClients,
            Aggregation = plan.Aggregation,
            BaseModelShape = plan.BaseModelShape,
            Lora = plan.LoraConfig(),
            Recipe = plan.Recipe,
            GlobalAdapter = state.GlobalAdapter!,
            ServerState = state.ServerState,
            Selected = selected,
            Outcomes = outcomes,
            RoundStartedUtc = roundStarted,
            TotalHospitals = plan.Hospitals.Count,
            PrivacyLedger = state.PrivacyLedger,
            PoissonRate = poisson ? plan.FractionFit : null,
            WirePrecision = plan.Recipe.WirePrecision,
            SecureAggregation = secure,
            SecAggSharers = sharers,
        }, ActivityRetry.Options).ConfigureAwait(true);
        if (!aggregated.Produced)
        {
            return QuorumFailed(context, state, tracker,
                $"Run {plan.RunId} round {state.Round} (attempt {state.Attempt + 1}): {aggregated.Problem} Details in {aggregated.RoundRecord}.");
        }

        var history = state.History.Append(aggregated.Summary).ToArray();
        var next = state with
        {
            Round = state.Round + 1,
            Attempt = 0,
            GlobalAdapter = aggregated.GlobalAdapter,
            ServerState = aggregated.ServerState,
            Epsilon = aggregated.Summary.Epsilon ?? state.Epsilon,
            PrivacyLedger = aggregated.PrivacyLedger ?? state.PrivacyLedger,
            History = history,
        };
        if (plan.SaveEveryRound > 0 && (state.Round % plan.SaveEveryRound == 0 || state.Round == plan.Rounds) && aggregated.GlobalAdapter != null)
        {
            context.SetCustomStatus(StatusFor(next with { Round = state.Round }, FederationPhases.Checkpointing, tracker));
            await context.CallActivityAsync<Core.Protocol.CheckpointRecord>(TaskNames.SaveCheckpoint,
                new CheckpointRequest(plan.RunId, state.Round, aggregated.GlobalAdapter, aggregated.ServerState, plan.SaveTotalLimit,
                    new DateTimeOffset(context.CurrentUtcDateTime, TimeSpan.Zero)), ActivityRetry.Options).ConfigureAwait(true);
        }
        return next;
    }

    private static FederationState QuorumFailed(TaskOrchestrationContext context, FederationState state, RoundTracker tracker, string reason)
    {
        var plan = state.Plan;
        if (plan.OnQuorumFailure == QuorumFailurePolicy.Retry && state.Attempt < plan.MaxRoundRetries)
        {
            var retried = state with { Attempt = state.Attempt + 1 };
            context.SetCustomStatus(StatusFor(retried, FederationPhases.RetryingRound, tracker, reason));
            return retried;
        }
        string policy = plan.OnQuorumFailure == QuorumFailurePolicy.Retry
            ? $"on_quorum_failure is retry and all {plan.MaxRoundRetries} retries are used"
            : "on_quorum_failure is fail";
        throw new FederationFailedException($"{reason} The run stops because {policy}.");
    }

    internal static FederationStatus StatusFor(FederationState state, string phase, RoundTracker? tracker, string? message = null) => new()
    {
        RunId = state.Plan.RunId,
        Phase = phase,
        Round = Math.Max(1, state.Round),
        TotalRounds = state.Plan.Rounds,
        Attempt = state.Attempt,
        Counts = tracker?.Counts() ?? new HospitalCounts(0, 0, 0, 0, 0),
        Hospitals = tracker?.States(FederationStatus.MaxListedHospitals),
        RecentRounds = state.History.TakeLast(FederationStatus.MaxHistory).ToArray(),
        Epsilon = state.Epsilon,
        GlobalAdapterSha256 = state.GlobalAdapter?.Sha256,
        Message = message,
    };
}

/// <summary>The run cannot go on; the message names the round, the cause and the fix. Fails the orchestration.</summary>
public sealed class FederationFailedException : Exception
{
    public FederationFailedException() { }
    public FederationFailedException(string message) : base(message) { }
    public FederationFailedException(string message, Exception inner) : base(message, inner) { }
}
