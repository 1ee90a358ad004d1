using FedTune.ClientAgent.Configuration;
using FedTune.ClientAgent.Work;
using FedTune.Core.Adapters;
using FedTune.Core.Protocol;
using FedTune.Core.SecureAggregation;
using Microsoft.Extensions.Logging;

namespace FedTune.ClientAgent.Execution;

/// <summary>
/// The hospital's side of a securely aggregated round (<see cref="RoundTask.SecureAggregation"/>), outbound-only like
/// everything else: it writes its messages into its own round folder and reads what the orchestrator put there.
/// Publish public keys when the task is taken; after training, share its secrets (once the roster is there), check the
/// update is finite, clip its delta (DP), encode it with its FedAvg weight and mask it (once its inbox is there); after
/// the upload, answer the reveal request. Its secrets stay in the work folder (<c>secagg-state.json</c>), written before
/// anything derived from them is uploaded, so a restarted agent continues with the same keys and shares.
/// </summary>
internal sealed partial class SecureAggregationParticipant(BlobStore store, AgentOptions options, TimeProvider time, ILogger logger, string hospitalId)
{
    /// <summary>Reason code of a hospital that had to leave a securely aggregated round (missing roster or inbox, bad message).</summary>
    public const string DroppedReason = "secure_aggregation_dropped";

    private static readonly TimeSpan FirstPoll = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan MaxPoll = TimeSpan.FromSeconds(5);

    public async Task PublishKeysAsync(RoundTask task, TaskWorkFolder folder, CancellationToken ct)
    {
        var secure = task.SecureAggregation!;
        var state = Load(folder);
        if (state is null)
        {
            (state, _) = SecAggClient.Start(hospitalId, secure.Setup);
            Save(folder, state);
        }

        await StorageRetry.RunAsync(c => store.TryCreateJsonAsync(Message(task, SecAggFiles.Keys), SecAggClient.PublicKeys(state), c),
            options.Upload, logger, "Publishing the secure-aggregation keys", ct).ConfigureAwait(false);
    }

    /// <summary>Replaces the trained adapter file with the masked upload (<see cref="MaskedUpdateWire"/>).</summary>
    public async Task MaskTrainedAdapterAsync(RoundTask task, TaskWorkFolder folder, long exampleCount, CancellationToken ct)
    {
        var secure = task.SecureAggregation!;
        var state = Load(folder) ?? throw Dropped("its secure-aggregation keys are missing from the work folder (it was cleared after the keys were published)");
        if (state.Roster is null)
        {
            var roster = await WaitForAsync<SecAggRoster>(task, SecAggFiles.Roster, secure.SharesDeadlineUtc, ct).ConfigureAwait(false)
                         ?? throw Dropped($"the orchestrator's roster did not arrive by {secure.SharesDeadlineUtc:O}");
            var (shared, outgoing) = Protect(() => SecAggClient.ShareKeys(state, roster.Keys));
            TaskWorkFolder.WriteAtomic(SharesFile(folder), ProtocolJson.Serialize(new SecAggShareBundle(outgoing)));
            Save(folder, state = shared);
        }

        var bundle = ProtocolJson.Deserialize<SecAggShareBundle>(await File.ReadAllBytesAsync(SharesFile(folder), ct).ConfigureAwait(false), SharesFile(folder));
        await StorageRetry.RunAsync(c => store.TryCreateJsonAsync(Message(task, SecAggFiles.Shares), bundle, c),
            options.Upload, logger, "Uploading the encrypted secure-aggregation shares", ct).ConfigureAwait(false);

        var inbox = await WaitForAsync<SecAggInbox>(task, SecAggFiles.Inbox, task.DeadlineUtc, ct).ConfigureAwait(false)
                    ?? throw Dropped($"its share inbox did not arrive by the round deadline {task.DeadlineUtc:O}");
        var trained = ReadAdapter(folder.TrainedAdapterFile);
        var start = task.GlobalAdapter is null ? trained.With(t => new float[t.Data.Length]) : ReadAdapter(folder.GlobalAdapterFile);
        var values = UpdateBeforeMasking(trained, start, secure.ClipNorm);
        var encoded = FixedPointEncoding.EncodeWeighted(values, secure.UniformWeights ? 1.0 : Math.Min(exampleCount, secure.WeightCap ?? double.PositiveInfinity));
        var (masked, upload) = Protect(() => SecAggClient.Mask(state, inbox.Sharers, inbox.Shares, encoded));
        Save(folder, masked);
        TaskWorkFolder.WriteAtomic(folder.TrainedAdapterFile, MaskedUpdateWire.ToBytes(trained, upload.Values));
        LogMasked(logger, task.RunId, task.Round, inbox.Sharers.Count, secure.Setup.Threshold);
    }

    /// <summary>Answers the reveal request (if one comes by the reveal deadline). A request it must refuse is answered with nothing.</summary>
    public async Task RevealAsync(RoundTask task, TaskWorkFolder folder, CancellationToken ct)
    {
        var secure = task.SecureAggregation!;
        var state = Load(folder);
        if (state?.Sharers is null || await store.ExistsAsync(Message(task, SecAggFiles.Reveal), ct).ConfigureAwait(false))
        {
            return;
        }

        var request = await WaitForAsync<SecAggRevealRequest>(task, SecAggFiles.RevealRequest, secure.RevealDeadlineUtc, ct).ConfigureAwait(false);
        if (request is null)
        {
            return;
        }

        SecAggReveal reveal;
        try
        {
            (state, reveal) = SecAggClient.Reveal(state, request.Survivors);
            Save(folder, state);
        }
        catch (SecureAggregationException e)
        {
            LogRefused(logger, task.RunId, task.Round, e.Message);
            reveal = new SecAggReveal(hospitalId, [], []);
        }

        await StorageRetry.RunAsync(c => store.TryCreateJsonAsync(Message(task, SecAggFiles.Reveal), reveal, c),
            options.Upload, logger, "Uploading the secure-aggregation reveal", ct).ConfigureAwait(false);
    }

    /// <summary>
    /// What the hospital masks: its adapter, checked finite (the server can no longer look at it) and, with DP, its
    /// delta from <paramref name="start"/> clipped to L2 norm <paramref name="clipNorm"/>.
    /// </summary>
    internal static float[] UpdateBeforeMasking(LoraAdapter trained, LoraAdapter start, double? clipNorm)
    {
        var values = MaskedUpdateWire.Flatten(trained);
        var origin = MaskedUpdateWire.Flatten(start);
        if (origin.Length != values.Length)
        {
            throw new TaskFailedException(FailureReasons.UpdateInvalid, $"The trained adapter has {values.Length} values but the global adapter {origin.Length}; they do not match.");
        }

        double squared = 0;
        for (var i = 0; i < values.Length; i++)
        {
            if (!float.IsFinite(values[i]))
            {
                throw new TaskFailedException(FailureReasons.UpdateInvalid,
                    $"The trained adapter has a non-finite value ({values[i]}) at position {i}; it is not sent. Lower the learning rate or check the data.");
            }

            var delta = (double)values[i] - origin[i];
            squared += delta * delta;
        }

        var norm = Math.Sqrt(squared);
        if (clipNorm is { } bound && norm > bound)
        {
            var scale = bound / norm;
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = (float)(origin[i] + (values[i] - origin[i]) * scale);
            }
        }

        return values;
    }

    private static string StateFile(TaskWorkFolder folder) => Path.Combine(folder.Path, "secagg-state.json");

    private static string SharesFile(TaskWorkFolder folder) => Path.Combine(folder.Path, "secagg-shares.json");

    private static SecAggClientState? Load(TaskWorkFolder folder) =>
        File.Exists(StateFile(folder)) ? SecAggClientState.FromJson(File.ReadAllBytes(StateFile(folder))) : null;

    private static void Save(TaskWorkFolder folder, SecAggClientState state) => TaskWorkFolder.WriteAtomic(StateFile(folder), state.ToJson());

    private static LoraAdapter ReadAdapter(string path)
    {
        using var stream = File.OpenRead(path);
        return AdapterWireFormat.Read(stream, path);
    }

    private BlobRef Message(RoundTask task, string file) => BlobLayout.SecAggMessage(task.RunId, task.Round, hospitalId, task.Attempt, file);

    private async Task<T?> WaitForAsync<T>(RoundTask task, string file, DateTimeOffset deadline, CancellationToken ct) where T : class
    {
        var wait = FirstPoll;
        while (true)
        {
            var found = await StorageRetry.RunAsync(c => store.TryReadJsonAsync<T>(Message(task, file), c), options.Upload, logger,
                $"Reading {file}", ct).ConfigureAwait(false);
            if (found is not null)
            {
                return found;
            }

            var left = deadline - time.GetUtcNow();
            if (left <= TimeSpan.Zero)
            {
                return null;
            }

            await Task.Delay(left < wait ? left : wait, time, ct).ConfigureAwait(false);
            wait = wait * 2 > MaxPoll ? MaxPoll : wait * 2;
        }
    }

    private static T Protect<T>(Func<T> step)
    {
        try
        {
            return step();
        }
        catch (SecureAggregationException e)
        {
            throw Dropped(e.Message);
        }
    }

    private static TaskFailedException Dropped(string why) =>
        new(DroppedReason, $"The hospital left this securely aggregated round: {why}.");

    [LoggerMessage(Level = LogLevel.Information, Message = "Run {RunId} round {Round}: masked the update for secure aggregation ({Sharers} sharers, threshold {Threshold})")]
    private static partial void LogMasked(ILogger logger, string runId, int round, int sharers, int threshold);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Run {RunId} round {Round}: refused the reveal request: {Why}")]
    private static partial void LogRefused(ILogger logger, string runId, int round, string why);
}
