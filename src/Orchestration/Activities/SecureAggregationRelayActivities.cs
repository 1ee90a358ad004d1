using FedTune.Core.Protocol;
using FedTune.Core.SecureAggregation;
using FedTune.Orchestration.Orchestrators;
using Microsoft.DurableTask;

namespace FedTune.Orchestration.Activities;

/// <summary>Which hospitals wrote a secure-aggregation message (one existence check each, plus the failed-task marker when absent).</summary>
public sealed class CheckSecAggMessagesActivity(BlobStore store) : TaskActivity<SecAggMessageCheck, SecAggMessageStatus>
{
    public override Task<SecAggMessageStatus> RunAsync(TaskActivityContext context, SecAggMessageCheck input) => ExecuteAsync(input, CancellationToken.None);

    public async Task<SecAggMessageStatus> ExecuteAsync(SecAggMessageCheck request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var present = new List<string>();
        var failed = new List<string>();
        foreach (var hospital in request.Hospitals)
        {
            if (await store.ExistsAsync(BlobLayout.SecAggMessage(request.RunId, request.Round, hospital, request.Attempt, request.FileName), cancellationToken).ConfigureAwait(false))
            {
                present.Add(hospital);
            }
            else if (await store.ExistsAsync(BlobLayout.FailedTaskMarker(request.RunId, request.Round, hospital, request.Attempt), cancellationToken).ConfigureAwait(false))
            {
                failed.Add(hospital);
            }
        }

        return new SecAggMessageStatus(present, failed);
    }
}

/// <summary>
/// Reads the published public keys, keeps the roster in the global container (create-once: a repeated delivery keeps the
/// first) and writes it to every hospital on it. Returns the roster's hospitals.
/// </summary>
public sealed class WriteSecAggRosterActivity(BlobStore store) : TaskActivity<SecAggRelayRequest, IReadOnlyList<string>>
{
    public override Task<IReadOnlyList<string>> RunAsync(TaskActivityContext context, SecAggRelayRequest input) => ExecuteAsync(input, CancellationToken.None);

    public async Task<IReadOnlyList<string>> ExecuteAsync(SecAggRelayRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var record = BlobLayout.SecAggRosterRecord(request.RunId, request.Round, request.Attempt);
        var keys = new List<SecAggPublicKeys>();
        foreach (var hospital in request.Hospitals.Order(StringComparer.Ordinal))
        {
            var published = await SecAggBlobs.TryReadAsync<SecAggPublicKeys>(store,
                BlobLayout.SecAggMessage(request.RunId, request.Round, hospital, request.Attempt, SecAggFiles.Keys), cancellationToken).ConfigureAwait(false);
            if (published is not null && published.Party == hospital)
            {
                keys.Add(published);
            }
        }

        await store.TryCreateJsonAsync(record, new SecAggRoster(keys), cancellationToken).ConfigureAwait(false);
        var roster = await store.TryReadJsonAsync<SecAggRoster>(record, cancellationToken).ConfigureAwait(false) ?? new SecAggRoster(keys);
        foreach (var member in roster.Keys)
        {
            await store.TryCreateJsonAsync(BlobLayout.SecAggMessage(request.RunId, request.Round, member.Party, request.Attempt, SecAggFiles.Roster),
                roster, cancellationToken).ConfigureAwait(false);
        }

        return roster.Keys.Select(k => k.Party).ToArray();
    }
}

/// <summary>
/// Routes the encrypted shares: reads every sharer's shares.json and writes each sharer an inbox with the sharers' list
/// and the shares addressed to it. The shares are AES-GCM ciphertexts under keys only the two hospitals can derive.
/// </summary>
public sealed class RouteSecAggSharesActivity(BlobStore store) : TaskActivity<SecAggRelayRequest, IReadOnlyList<string>>
{
    public override Task<IReadOnlyList<string>> RunAsync(TaskActivityContext context, SecAggRelayRequest input) => ExecuteAsync(input, CancellationToken.None);

    public async Task<IReadOnlyList<string>> ExecuteAsync(SecAggRelayRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var all = new List<SecAggEncryptedShare>();
        var sharers = new List<string>();
        foreach (var hospital in request.Hospitals.Order(StringComparer.Ordinal))
        {
            var bundle = await SecAggBlobs.TryReadAsync<SecAggShareBundle>(store,
                BlobLayout.SecAggMessage(request.RunId, request.Round, hospital, request.Attempt, SecAggFiles.Shares), cancellationToken).ConfigureAwait(false);
            if (bundle is not null && bundle.Shares.All(s => s.From == hospital))
            {
                sharers.Add(hospital);
                all.AddRange(bundle.Shares);
            }
        }

        foreach (var hospital in sharers)
        {
            var inbox = new SecAggInbox(sharers, all.Where(s => s.To == hospital && sharers.Contains(s.From)).OrderBy(s => s.From, StringComparer.Ordinal).ToArray());
            await store.TryCreateJsonAsync(BlobLayout.SecAggMessage(request.RunId, request.Round, hospital, request.Attempt, SecAggFiles.Inbox),
                inbox, cancellationToken).ConfigureAwait(false);
        }

        return sharers;
    }
}

/// <summary>Tells each survivor who survived (everyone else who shared dropped), so it can reveal the shares unmasking needs.</summary>
public sealed class WriteSecAggRevealRequestsActivity(BlobStore store) : TaskActivity<SecAggRelayRequest, bool>
{
    public override Task<bool> RunAsync(TaskActivityContext context, SecAggRelayRequest input) => ExecuteAsync(input, CancellationToken.None);

    public async Task<bool> ExecuteAsync(SecAggRelayRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var survivors = request.Hospitals.Order(StringComparer.Ordinal).ToArray();
        foreach (var hospital in survivors)
        {
            await store.TryCreateJsonAsync(BlobLayout.SecAggMessage(request.RunId, request.Round, hospital, request.Attempt, SecAggFiles.RevealRequest),
                new SecAggRevealRequest(survivors), cancellationToken).ConfigureAwait(false);
        }

        return true;
    }
}

/// <summary>Reads a hospital-written message; one that does not parse counts as not sent (that hospital drops out).</summary>
internal static class SecAggBlobs
{
    public static async Task<T?> TryReadAsync<T>(BlobStore store, BlobRef blob, CancellationToken cancellationToken) where T : class
    {
        try
        {
            return await store.TryReadJsonAsync<T>(blob, cancellationToken).ConfigureAwait(false);
        }
        catch (ProtocolFormatException)
        {
            return null;
        }
    }
}
