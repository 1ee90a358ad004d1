using FedTune.Orchestration.Orchestrators;
using Microsoft.DurableTask.Client;

namespace FedTune.Orchestration.Events;

/// <summary>
/// Turns finished uploads into <see cref="TaskNames.UploadArrivedEvent"/> notices on their runs' orchestrations: one
/// event per run, round and attempt, naming every hospital of the batch. The single path from "a manifest or failed-task
/// marker was written" to "the round checks it now", used by the Event Grid trigger (Azure), the local host's upload
/// watcher and the operator's upload-arrived route alike. A notice for a run that is not running is dropped.
/// </summary>
public sealed class UploadEventRouter(DurableTaskClient client)
{
    /// <summary>Raises the notices; returns how many hospitals were named in notices to running runs.</summary>
    public async Task<int> NotifyAsync(IEnumerable<UploadLocation> locations, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(locations);
        int notified = 0;
        foreach (var run in locations.GroupBy(l => l.RunId, StringComparer.Ordinal))
        {
            var instance = await client.GetInstanceAsync(run.Key, getInputsAndOutputs: false, cancellationToken).ConfigureAwait(false);
            if (instance is not { IsRunning: true } || instance.Name != TaskNames.FederationOrchestrator) continue;
            foreach (var round in run.GroupBy(l => (l.Round, l.Attempt)).OrderBy(g => g.Key))
            {
                var hospitals = round.Select(l => l.HospitalId).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
                // A hospital is known to have uploaded only when every blob named for it is its manifest.
                var manifests = round.GroupBy(l => l.HospitalId, StringComparer.Ordinal).Where(h => h.All(l => l.IsManifest))
                    .Select(h => h.Key).Order(StringComparer.Ordinal).ToArray();
                await client.RaiseEventAsync(run.Key, TaskNames.UploadArrivedEvent,
                    new UploadNotice(round.Key.Round, round.Key.Attempt, hospitals) { Manifests = manifests }, cancellationToken).ConfigureAwait(false);
                notified += hospitals.Length;
            }
        }
        return notified;
    }
}
