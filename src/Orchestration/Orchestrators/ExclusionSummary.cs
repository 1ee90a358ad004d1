using System.Globalization;
using FedTune.Core.Protocol;

namespace FedTune.Orchestration.Orchestrators;

/// <summary>
/// Hospitals left out of a round, said in one bounded sentence for a failure reason: each one with its reason when
/// there are a few, otherwise the count per reason code, the first few hospitals and the first one's reason (the
/// round record, or the status, holds every one). A quorum failure of 10,000 hospitals stays a short line.
/// </summary>
public static class ExclusionSummary
{
    /// <summary>Hospitals named one by one; above this the sentence summarises.</summary>
    public const int Listed = 3;

    /// <summary>Longest reason quoted for one hospital.</summary>
    public const int MaxMessageLength = 240;

    /// <summary>"a (code: why); b (code: why)", or "120 hospitals (update_invalid x100, manifest_invalid x20): a, b, c and 117 more; a: why".</summary>
    public static string Describe(IReadOnlyList<RoundExclusion> exclusions)
    {
        ArgumentNullException.ThrowIfNull(exclusions);
        if (exclusions.Count <= Listed) return string.Join("; ", exclusions.Select(e => $"{e.HospitalId} ({e.ReasonCode}: {Shorten(e.Message)})"));
        var codes = exclusions.GroupBy(e => e.ReasonCode, StringComparer.Ordinal)
            .OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => string.Create(CultureInfo.InvariantCulture, $"{g.Key} x{g.Count()}"));
        var first = exclusions[0];
        return string.Create(CultureInfo.InvariantCulture,
            $"{exclusions.Count} hospitals ({string.Join(", ", codes)}): {Names(exclusions.Select(e => e.HospitalId).ToArray())}; {first.HospitalId}: {Shorten(first.Message)}");
    }

    /// <summary>"a, b, c" or "a, b, c and 97 more".</summary>
    public static string Names(IReadOnlyList<string> hospitals)
    {
        ArgumentNullException.ThrowIfNull(hospitals);
        var named = string.Join(", ", hospitals.Take(Listed));
        return hospitals.Count <= Listed ? named : string.Create(CultureInfo.InvariantCulture, $"{named} and {hospitals.Count - Listed} more");
    }

    private static string Shorten(string message)
    {
        var trimmed = message.TrimEnd('.');
        return trimmed.Length <= MaxMessageLength ? trimmed : string.Concat(trimmed.AsSpan(0, MaxMessageLength), "...");
    }
}
