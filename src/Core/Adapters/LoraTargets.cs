using System.Globalization;
using System.Text.RegularExpressions;

namespace FedTune.Core.Adapters;

/// <summary>
/// PEFT's rule for which Linear layers LoRA wraps: target_modules (null → the architecture's default,
/// <c>query_key_value</c> for GPT-NeoX) matched as exact names or dotted-name suffixes, or target_modules_pattern as a
/// full-match regex, optionally limited to layers_to_transform. One rule for the trainer and the orchestrator.
/// </summary>
public static class LoraTargets
{
    /// <summary>PEFT's default target for GPT-NeoX.</summary>
    public static readonly IReadOnlyList<string> GptNeoXDefault = ["query_key_value"];

    /// <summary>PEFT's matching: a module key matches a target when equal to it or ending with "." + target.</summary>
    public static bool Matches(string moduleName, LoraAdapterConfig config)
    {
        ArgumentNullException.ThrowIfNull(moduleName);
        ArgumentNullException.ThrowIfNull(config);
        bool nameMatches;
        if (config.TargetModulesPattern is { } pattern)
        {
            nameMatches = Regex.IsMatch(moduleName, $"^(?:{pattern})$", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        }
        else
        {
            var targets = config.TargetModules ?? GptNeoXDefault;
            nameMatches = targets.Contains("all-linear", StringComparer.Ordinal)
                ? moduleName != "embed_out"
                : targets.Any(t => moduleName == t || moduleName.EndsWith("." + t, StringComparison.Ordinal));
        }

        if (!nameMatches || config.LayersToTransform is not { Count: > 0 } layers)
            return nameMatches;
        var match = Regex.Match(moduleName, @"\.layers\.(\d+)\.", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        return match.Success && layers.Contains(int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture));
    }

    /// <summary>A readable form of the targets for error messages.</summary>
    public static string Describe(LoraAdapterConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return config.TargetModulesPattern is { } pattern
            ? $"pattern '{pattern}'"
            : $"[{string.Join(", ", config.TargetModules ?? GptNeoXDefault)}]";
    }
}
