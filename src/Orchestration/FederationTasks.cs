using FedTune.Orchestration.Activities;
using FedTune.Orchestration.Orchestrators;
using Microsoft.DurableTask;

namespace FedTune.Orchestration;

/// <summary>Registers the federation's orchestrators and activities under <see cref="TaskNames"/> (for Durable Task workers).</summary>
public static class FederationTasks
{
    /// <summary>Activities resolve their constructor arguments (a <c>BlobStore</c>) from the worker's service provider.</summary>
    public static DurableTaskRegistry AddFederationTasks(this DurableTaskRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        registry.AddOrchestrator<FederationOrchestrator>(TaskNames.FederationOrchestrator);
        registry.AddActivity<WriteRoundTasksActivity>(TaskNames.WriteRoundTasks);
        registry.AddActivity<CheckUploadsActivity>(TaskNames.CheckUploads);
        registry.AddActivity<AggregateRoundActivity>(TaskNames.AggregateRound);
        registry.AddActivity<SaveCheckpointActivity>(TaskNames.SaveCheckpoint);
        registry.AddActivity<ImportCheckpointActivity>(TaskNames.ImportCheckpoint);
        registry.AddActivity<CreateInitialAdapterActivity>(TaskNames.CreateInitialAdapter);
        registry.AddActivity<CheckSecAggMessagesActivity>(TaskNames.CheckSecAggMessages);
        registry.AddActivity<WriteSecAggRosterActivity>(TaskNames.WriteSecAggRoster);
        registry.AddActivity<RouteSecAggSharesActivity>(TaskNames.RouteSecAggShares);
        registry.AddActivity<WriteSecAggRevealRequestsActivity>(TaskNames.WriteSecAggRevealRequests);
        registry.AddActivity<AggregateSecureRoundActivity>(TaskNames.AggregateSecureRound);
        return registry;
    }
}
