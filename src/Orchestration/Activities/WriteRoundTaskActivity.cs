using FedTune.Core.Protocol;
using Microsoft.DurableTask;

namespace FedTune.Orchestration.Activities;

/// <summary>Writes a hospital's round task once (If-None-Match: *): a replay finds it there and changes nothing.</summary>
public sealed class WriteRoundTaskActivity(BlobStore store) : TaskActivity<RoundTask, bool>
{
    public override Task<bool> RunAsync(TaskActivityContext context, RoundTask input) => ExecuteAsync(input, CancellationToken.None);

    /// <summary>True when this call wrote the task; false when it was already there.</summary>
    public async Task<bool> ExecuteAsync(RoundTask task, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(task);
        return await store.TryCreateJsonAsync(BlobLayout.RoundTask(task.RunId, task.Round, task.HospitalId, task.Attempt), task,
            cancellationToken).ConfigureAwait(false);
    }
}
