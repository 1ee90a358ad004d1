using System.Text.Json.Serialization;

namespace FedTune.Core.Compression;

/// <summary>
/// How adapters travel between hospitals and the orchestrator, both directions (<c>federation.wire_precision</c>):
/// full F32, F16 (round to nearest), or int8 in absmax blocks with stochastic rounding (<see cref="Int8BlockQuantizer"/>).
/// </summary>
[JsonConverter(typeof(JsonStringEnumConverter<WirePrecision>))]
public enum WirePrecision
{
    Fp32,
    Fp16,
    Int8,
}

/// <summary>Config spellings of <see cref="WirePrecision"/>.</summary>
public static class WirePrecisions
{
    /// <summary>The config and metadata spelling: fp32, fp16, int8.</summary>
    public static string Name(WirePrecision precision) => precision.ToString().ToLowerInvariant();

    /// <summary>Parses fp32 / fp16 / int8; false for anything else.</summary>
    public static bool TryParse(string? text, out WirePrecision precision)
    {
        foreach (var candidate in Enum.GetValues<WirePrecision>())
        {
            if (string.Equals(Name(candidate), text, StringComparison.Ordinal))
            {
                precision = candidate;
                return true;
            }
        }

        precision = WirePrecision.Fp32;
        return false;
    }
}
