using FedTune.Core.Protocol;
using FedTune.Orchestration;
using FedTune.Orchestration.Activities;
using FedTune.Orchestration.Orchestrators;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;

namespace FedTune.Orchestrator.Functions;

/// <summary>
/// Thin [Function] wrappers: each orchestration and activity delegates to the shared class in FedTune.Orchestration,
/// so the Functions app and the local host run the same code (written by hand: the Durable source generator is not
/// available on this feed).
/// </summary>
public sealed class OrchestrationFunctions(BlobStore store)
{
    [Function(TaskNames.FederationOrchestrator)]
    public static Task<FederationResult?> Federation([OrchestrationTrigger] TaskOrchestrationContext context) =>
        new FederationOrchestrator().RunAsync(context, Input<FederationState>(context));

    [Function(TaskNames.WriteRoundTasks)]
    public Task<int> WriteRoundTasks([ActivityTrigger] RoundTaskBatch input, FunctionContext context) =>
        new WriteRoundTasksActivity(store).ExecuteAsync(input, context.CancellationToken);

    [Function(TaskNames.CheckUploads)]
    public Task<IReadOnlyList<HospitalRoundOutcome>> CheckUploads([ActivityTrigger] UploadCheckBatch input, FunctionContext context) =>
        new CheckUploadsActivity(store).ExecuteAsync(input, context.CancellationToken);

    [Function(TaskNames.AggregateRound)]
    public Task<AggregateResult> AggregateRound([ActivityTrigger] AggregateRequest input, FunctionContext context) =>
        new AggregateRoundActivity(store).ExecuteAsync(input, context.CancellationToken);

    [Function(TaskNames.SaveCheckpoint)]
    public Task<CheckpointRecord> SaveCheckpoint([ActivityTrigger] CheckpointRequest input, FunctionContext context) =>
        new SaveCheckpointActivity(store).ExecuteAsync(input, context.CancellationToken);

    [Function(TaskNames.CreateInitialAdapter)]
    public Task<ContentRef> CreateInitialAdapter([ActivityTrigger] InitialAdapterRequest input, FunctionContext context) =>
        new CreateInitialAdapterActivity(store).ExecuteAsync(input, context.CancellationToken);

    [Function(TaskNames.ImportCheckpoint)]
    public Task<ImportedCheckpoint> ImportCheckpoint([ActivityTrigger] ImportCheckpointRequest input, FunctionContext context) =>
        new ImportCheckpointActivity(store).ExecuteAsync(input, context.CancellationToken);

    [Function(TaskNames.CheckSecAggMessages)]
    public Task<SecAggMessageStatus> CheckSecAggMessages([ActivityTrigger] SecAggMessageCheck input, FunctionContext context) =>
        new CheckSecAggMessagesActivity(store).ExecuteAsync(input, context.CancellationToken);

    [Function(TaskNames.WriteSecAggRoster)]
    public Task<IReadOnlyList<string>> WriteSecAggRoster([ActivityTrigger] SecAggRelayRequest input, FunctionContext context) =>
        new WriteSecAggRosterActivity(store).ExecuteAsync(input, context.CancellationToken);

    [Function(TaskNames.RouteSecAggShares)]
    public Task<IReadOnlyList<string>> RouteSecAggShares([ActivityTrigger] SecAggRelayRequest input, FunctionContext context) =>
        new RouteSecAggSharesActivity(store).ExecuteAsync(input, context.CancellationToken);

    [Function(TaskNames.WriteSecAggRevealRequests)]
    public Task<bool> WriteSecAggRevealRequests([ActivityTrigger] SecAggRelayRequest input, FunctionContext context) =>
        new WriteSecAggRevealRequestsActivity(store).ExecuteAsync(input, context.CancellationToken);

    [Function(TaskNames.AggregateSecureRound)]
    public Task<AggregateResult> AggregateSecureRound([ActivityTrigger] AggregateRequest input, FunctionContext context) =>
        new AggregateSecureRoundActivity(store).ExecuteAsync(input, context.CancellationToken);

    private static T Input<T>(TaskOrchestrationContext context) where T : class =>
        context.GetInput<T>() ?? throw new InvalidOperationException($"{context.Name} was started without its {typeof(T).Name} input.");
}
