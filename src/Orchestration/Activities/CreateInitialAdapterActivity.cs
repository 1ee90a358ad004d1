using FedTune.Core.Adapters;
using FedTune.Core.Protocol;
using FedTune.Orchestration.Orchestrators;
using Microsoft.DurableTask;

namespace FedTune.Orchestration.Activities;

/// <summary>
/// Creates the run's round-0 global adapter from the recipe's LoRA settings and the base model's shapes (A seeded from
/// the run seed as PEFT initialises it, B zeros; <see cref="InitialAdapter"/>) and stores it content-addressed as round
/// 0's global adapter. Deterministic, so a repeated delivery writes the same bytes to the same blob.
/// </summary>
public sealed class CreateInitialAdapterActivity(BlobStore store) : TaskActivity<InitialAdapterRequest, ContentRef>
{
    public override Task<ContentRef> RunAsync(TaskActivityContext context, InitialAdapterRequest input) =>
        ExecuteAsync(input, CancellationToken.None);

    public async Task<ContentRef> ExecuteAsync(InitialAdapterRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        LoraAdapter adapter;
        try
        {
            adapter = InitialAdapter.Create(request.BaseModel, request.Lora, request.Seed);
        }
        catch (ArgumentException e)
        {
            throw new FederationFailedException($"Run {request.RunId} cannot create its round-0 adapter: {e.Message}");
        }
        return await store.UploadContentAddressedAsync(AdapterWireFormat.ToBytes(adapter),
            sha => BlobLayout.GlobalAdapter(request.RunId, 0, sha), cancellationToken).ConfigureAwait(false);
    }
}
