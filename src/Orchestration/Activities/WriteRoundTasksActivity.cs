using FedTune.Core.Protocol;
using FedTune.Orchestration.Orchestrators;
using Microsoft.DurableTask;

namespace FedTune.Orchestration.Activities;

/// <summary>
/// Writes one chunk of a round's tasks, each once (If-None-Match: *), several at a time: a redelivered chunk finds
/// its tasks there and changes nothing. Each task comes from <see cref="RoundTaskFactory"/>, so a replay writes the
/// same bytes.
/// </summary>
public sealed class WriteRoundTasksActivity(BlobStore store) : TaskActivity<RoundTaskBatch, int>
{
    /// <summary>Concurrent blob writes per chunk.</summary>
    public const int Parallelism = 16;

    public override Task<int> RunAsync(TaskActivityContext context, RoundTaskBatch input) => ExecuteAsync(input, CancellationToken.None);

    /// <summary>How many tasks this call wrote (the others were already there).</summary>
    public async Task<int> ExecuteAsync(RoundTaskBatch batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        int written = 0;
        await Parallel.ForEachAsync(batch.Hospitals, new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = cancellationToken },
            async (hospital, token) =>
            {
                var task = RoundTaskFactory.Create(batch.Plan, batch.Round, batch.Attempt, hospital, batch.GlobalAdapter, batch.IssuedUtc)
                    with { SecureAggregation = batch.SecureAggregation };
                if (await store.TryCreateJsonAsync(BlobLayout.RoundTask(task.RunId, task.Round, task.HospitalId, task.Attempt), task, token)
                        .ConfigureAwait(false))
                {
                    Interlocked.Increment(ref written);
                }
            }).ConfigureAwait(false);
        return written;
    }
}
