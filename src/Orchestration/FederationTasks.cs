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
        registry.AddOrchestrator<HospitalRoundOrchestrator>(TaskNames.HospitalRoundOrchestrator);
        registry.AddActivity<WriteRoundTaskActivity>(TaskNames.WriteRoundTask);
        registry.AddActivity<CheckUploadActivity>(TaskNames.CheckUpload);
        registry.AddActivity<AggregateRoundActivity>(TaskNames.AggregateRound);
        registry.AddActivity<SaveCheckpointActivity>(TaskNames.SaveCheckpoint);
        registry.AddActivity<ImportCheckpointActivity>(TaskNames.ImportCheckpoint);
        registry.AddActivity<CreateInitialAdapterActivity>(TaskNames.CreateInitialAdapter);
        return registry;
    }
}
