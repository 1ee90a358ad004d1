using FedTune.Core.Protocol;

namespace FedTune.ClientAgent.Tasks;

/// <summary>
/// Finds the hospital's open round tasks with one listing of its container: a round folder holding
/// <c>task.json</c> but neither <c>update/manifest.json</c> nor <c>failed.json</c>, or (secure aggregation) a reveal
/// request the hospital has not answered yet. Oldest (by name: run, then round) first.
/// </summary>
public sealed class TaskScanner(BlobStore store, string hospitalId)
{
    private readonly string _container = BlobLayout.HospitalContainer(hospitalId);

    public string Container => _container;

    public async Task<IReadOnlyList<PendingTask>> FindOpenTasksAsync(CancellationToken cancellationToken)
    {
        var tasks = new List<string>();
        var finished = new HashSet<string>(StringComparer.Ordinal);
        var revealAsked = new HashSet<string>(StringComparer.Ordinal);
        var revealed = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var name in store.ListNamesAsync(_container, BlobLayout.RunsPrefix, cancellationToken).ConfigureAwait(false))
        {
            if (name.EndsWith("/" + BlobLayout.TaskFileName, StringComparison.Ordinal))
            {
                tasks.Add(name[..^BlobLayout.TaskFileName.Length]);
            }
            else if (name.EndsWith("/update/" + BlobLayout.ManifestFileName, StringComparison.Ordinal))
            {
                finished.Add(name[..^("update/" + BlobLayout.ManifestFileName).Length]);
            }
            else if (name.EndsWith("/secagg/" + SecAggFiles.RevealRequest, StringComparison.Ordinal))
            {
                revealAsked.Add(name[..^("secagg/" + SecAggFiles.RevealRequest).Length]);
            }
            else if (name.EndsWith("/secagg/" + SecAggFiles.Reveal, StringComparison.Ordinal))
            {
                revealed.Add(name[..^("secagg/" + SecAggFiles.Reveal).Length]);
            }
            else if (name.EndsWith("/" + AgentBlobNames.FailedMarkerFileName, StringComparison.Ordinal))
            {
                finished.Add(name[..^AgentBlobNames.FailedMarkerFileName.Length]);
            }
        }

        return tasks.Where(folder => !finished.Contains(folder) || (revealAsked.Contains(folder) && !revealed.Contains(folder)))
            .Order(StringComparer.Ordinal)
            .Select(folder => new PendingTask(new BlobRef(_container, folder + BlobLayout.TaskFileName), folder))
            .ToList();
    }
}
