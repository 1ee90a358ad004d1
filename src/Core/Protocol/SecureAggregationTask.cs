using FedTune.Core.SecureAggregation;

namespace FedTune.Core.Protocol;

/// <summary>
/// What a hospital needs for a securely aggregated round, inside its <see cref="RoundTask"/>: the setup every party
/// shares, the deadlines of the extra steps, and what the agent must do to its update before masking (the server can
/// no longer look at single updates): clip its delta to <see cref="ClipNorm"/> when set (DP) and use weight 1 instead
/// of its example count when <see cref="UniformWeights"/> (DP-FedAvg's unweighted sum).
/// </summary>
public sealed record SecureAggregationTask
{
    public required SecAggSetup Setup { get; init; }
    /// <summary>The orchestrator collects public keys until this instant.</summary>
    public required DateTimeOffset KeysDeadlineUtc { get; init; }
    /// <summary>The orchestrator collects encrypted shares (sent after training) until this instant.</summary>
    public required DateTimeOffset SharesDeadlineUtc { get; init; }
    /// <summary>Survivors answer the reveal request until this instant (after the round's upload deadline).</summary>
    public required DateTimeOffset RevealDeadlineUtc { get; init; }
    /// <summary>L2 bound of the update's delta from the global adapter, applied by the agent before masking (DP); null: no clipping.</summary>
    public double? ClipNorm { get; init; }
    /// <summary>Encode weight 1 instead of the example count (DP-FedAvg sums clipped deltas unweighted).</summary>
    public bool UniformWeights { get; init; }
    /// <summary>
    /// The largest weight the agent may encode (<c>federation.weighting: budget</c>: max_steps × batch × accumulation, the
    /// bound the server applies to plain uploads); null: its example count as it is.
    /// </summary>
    public double? WeightCap { get; init; }
}

/// <summary>The file names of the secure-aggregation messages in a hospital's round folder (<see cref="BlobLayout.SecAggMessage"/>).</summary>
public static class SecAggFiles
{
    public const string Keys = "keys.json";
    public const string Roster = "roster.json";
    public const string Shares = "shares.json";
    public const string Inbox = "inbox.json";
    public const string RevealRequest = "reveal-request.json";
    public const string Reveal = "reveal.json";
}

/// <summary>Every public key the orchestrator collected for the round (written to each hospital that published one).</summary>
public sealed record SecAggRoster(IReadOnlyList<SecAggPublicKeys> Keys);

/// <summary>Encrypted shares from one hospital to its neighbours (shares.json).</summary>
public sealed record SecAggShareBundle(IReadOnlyList<SecAggEncryptedShare> Shares);

/// <summary>What the orchestrator routes to one hospital (inbox.json): who shared (they mask with each other) and the shares addressed to it.</summary>
public sealed record SecAggInbox(IReadOnlyList<string> Sharers, IReadOnlyList<SecAggEncryptedShare> Shares);

/// <summary>The orchestrator's request to reveal: who uploaded a masked update (everyone else in the roster dropped).</summary>
public sealed record SecAggRevealRequest(IReadOnlyList<string> Survivors);
