using FedTune.Core.Protocol;
using FedTune.Orchestration.Orchestrators;
using Microsoft.DurableTask;

namespace FedTune.Orchestration.Activities;

/// <summary>
/// Keeps the round's global adapter as a checkpoint (its own content-addressed copy plus a checkpoint record),
/// then deletes the oldest checkpoints beyond save_total_limit. Idempotent: copies and records are create-once.
/// </summary>
public sealed class SaveCheckpointActivity(BlobStore store) : TaskActivity<CheckpointRequest, CheckpointRecord>
{
    public override Task<CheckpointRecord> RunAsync(TaskActivityContext context, CheckpointRequest input) =>
        ExecuteAsync(input, CancellationToken.None);

    public async Task<CheckpointRecord> ExecuteAsync(CheckpointRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var recordRef = BlobLayout.Checkpoint(request.RunId, request.Round);
        var existing = await store.TryReadJsonAsync<CheckpointRecord>(recordRef, cancellationToken).ConfigureAwait(false);
        if (existing == null)
        {
            var adapter = await CopyAsync(request.GlobalAdapter, sha => BlobLayout.CheckpointAdapter(request.RunId, request.Round, sha),
                cancellationToken).ConfigureAwait(false);
            var record = new CheckpointRecord
            {
                RunId = request.RunId,
                Round = request.Round,
                Adapter = adapter,
                ServerState = request.ServerState,
                SavedUtc = request.SavedUtc,
            };
            await store.TryCreateJsonAsync(recordRef, record, cancellationToken).ConfigureAwait(false);
            existing = await store.TryReadJsonAsync<CheckpointRecord>(recordRef, cancellationToken).ConfigureAwait(false) ?? record;
        }
        if (request.SaveTotalLimit > 0) await PruneAsync(request.RunId, request.SaveTotalLimit, cancellationToken).ConfigureAwait(false);
        return existing;
    }

    private async Task<ContentRef> CopyAsync(ContentRef source, Func<string, BlobRef> target, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        await store.DownloadVerifiedAsync(source, buffer, cancellationToken).ConfigureAwait(false);
        buffer.Position = 0;
        return await store.UploadContentAddressedAsync(buffer, target, cancellationToken).ConfigureAwait(false);
    }

    private async Task PruneAsync(string runId, int keep, CancellationToken cancellationToken)
    {
        var rounds = await CheckpointCatalog.RoundsAsync(store, runId, cancellationToken).ConfigureAwait(false);
        foreach (int old in rounds.SkipLast(keep))
        {
            var folder = BlobLayout.CheckpointFolder(runId) + BlobLayout.RoundSegment(old) + "/";
            // Delete the record first so a half-pruned checkpoint is never listed as usable.
            await store.DeleteIfExistsAsync(BlobLayout.Checkpoint(runId, old), cancellationToken).ConfigureAwait(false);
            await foreach (var name in store.ListNamesAsync(BlobLayout.GlobalContainer, folder, cancellationToken).ConfigureAwait(false))
            {
                await store.DeleteIfExistsAsync(new BlobRef(BlobLayout.GlobalContainer, name), cancellationToken).ConfigureAwait(false);
            }
        }
    }
}

/// <summary>Copies a checkpoint of an earlier run into this run's round 0, so the first round starts from it.</summary>
public sealed class ImportCheckpointActivity(BlobStore store) : TaskActivity<ImportCheckpointRequest, ImportedCheckpoint>
{
    public override Task<ImportedCheckpoint> RunAsync(TaskActivityContext context, ImportCheckpointRequest input) =>
        ExecuteAsync(input, CancellationToken.None);

    public async Task<ImportedCheckpoint> ExecuteAsync(ImportCheckpointRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var source = request.Source;
        var record = await CheckpointCatalog.FindAsync(store, source.RunId, source.Round, cancellationToken).ConfigureAwait(false)
                     ?? throw new FederationFailedException(source.Round is int r
                         ? $"Run {source.RunId} has no checkpoint for round {r}. Fix: list its checkpoints under {BlobLayout.GlobalContainer}/{BlobLayout.CheckpointFolder(source.RunId)} and pick one that exists."
                         : $"Run {source.RunId} has no checkpoints. Fix: start from a run that saved checkpoints (save_every_round > 0).");
        using var buffer = new MemoryStream();
        await store.DownloadVerifiedAsync(record.Adapter, buffer, cancellationToken).ConfigureAwait(false);
        buffer.Position = 0;
        if (request.BaseModel is { } shape && request.Lora is { } lora)
        {
            var adapter = Core.Adapters.AdapterWireFormat.Read(buffer, record.Adapter.Blob.ToString());
            var problem = Core.Adapters.InitialAdapter.Mismatch(adapter.Config, adapter.Tensors.Select(t => (t.Name, t.Shape)), shape, lora);
            if (problem != null)
            {
                throw new FederationFailedException(
                    $"The checkpoint of run {source.RunId} round {record.Round} does not fit this run's recipe and base model: {problem} Fix: start from a checkpoint of a run with the same model and LoRA settings, or start fresh.");
            }
            buffer.Position = 0;
        }
        var imported = await store.UploadContentAddressedAsync(buffer, sha => BlobLayout.GlobalAdapter(request.RunId, 0, sha), cancellationToken)
            .ConfigureAwait(false);
        return new ImportedCheckpoint(imported, record.ServerState, record.Round);
    }
}

/// <summary>Finds a run's checkpoints.</summary>
public static class CheckpointCatalog
{
    /// <summary>Rounds with a checkpoint record, ascending.</summary>
    public static async Task<IReadOnlyList<int>> RoundsAsync(BlobStore store, string runId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        var rounds = new SortedSet<int>();
        var folder = BlobLayout.CheckpointFolder(runId);
        await foreach (var name in store.ListNamesAsync(BlobLayout.GlobalContainer, folder, cancellationToken).ConfigureAwait(false))
        {
            var parts = name[folder.Length..].Split('/');
            if (parts.Length == 2 && parts[1] == "checkpoint.json" && BlobLayout.ParseRoundSegment(parts[0]) is int round) rounds.Add(round);
        }
        return rounds.ToArray();
    }

    /// <summary>The checkpoint of <paramref name="round"/> (or the latest when null), or null when there is none.</summary>
    public static async Task<CheckpointRecord?> FindAsync(BlobStore store, string runId, int? round, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        int? chosen = round;
        if (chosen == null)
        {
            var rounds = await RoundsAsync(store, runId, cancellationToken).ConfigureAwait(false);
            if (rounds.Count == 0) return null;
            chosen = rounds[^1];
        }
        return await store.TryReadJsonAsync<CheckpointRecord>(BlobLayout.Checkpoint(runId, chosen.Value), cancellationToken).ConfigureAwait(false);
    }
}
