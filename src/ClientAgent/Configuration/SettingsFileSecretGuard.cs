using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Json;

namespace FedTune.ClientAgent.Configuration;

/// <summary>
/// Refuses storage secrets written into JSON settings files (appsettings*.json, --settings FILE): a shared account key
/// (<c>AccountKey=</c>) or a SAS signature (<c>SharedAccessSignature=</c>, <c>sig=</c>) in any <c>Storage:*</c> setting is
/// readable by anyone who can read the install folder or a backup. Secrets may come from the environment or the command
/// line (Azurite, local runs), or from a file only with <see cref="StorageOptions.AllowAccountKeyInSettingsFile"/>.
/// </summary>
public sealed partial class SettingsFileSecretGuard(IConfiguration configuration)
{
    private const string Section = "Storage";

    /// <summary>One message per storage setting of a settings file that holds a secret (empty when none, or when allowed).</summary>
    public IEnumerable<string> FindAccountKeysInSettingsFiles(bool allowed)
    {
        if (allowed || configuration is not IConfigurationRoot root)
        {
            yield break;
        }

        foreach (var provider in root.Providers.OfType<JsonConfigurationProvider>())
        {
            foreach (var key in KeysUnder(provider, Section))
            {
                if (provider.TryGet(key, out var value) && value != null && HoldsSecret(value))
                {
                    yield return $"{key} in settings file '{provider.Source.Path}' contains a secret (a shared account key or a SAS signature). " +
                                 "Fix: remove it from the file and pass it as an environment variable (FEDTUNE_AGENT_" + key.Replace(":", "__", StringComparison.Ordinal) +
                                 ", e.g. from a systemd EnvironmentFile readable only by the service user), or use Storage:Mode DefaultAzureCredential. " +
                                 "To accept the risk, set Storage:AllowAccountKeyInSettingsFile=true.";
                }
            }
        }
    }

    /// <summary>True when <paramref name="value"/> carries an account key or a SAS signature.</summary>
    public static bool HoldsSecret(string value) => SecretPattern().IsMatch(value);

    private static IEnumerable<string> KeysUnder(JsonConfigurationProvider provider, string path)
    {
        foreach (var child in provider.GetChildKeys([], path).Distinct(StringComparer.OrdinalIgnoreCase))
        {
            var key = path + ConfigurationPath.KeyDelimiter + child;
            yield return key;
            foreach (var nested in KeysUnder(provider, key)) yield return nested;
        }
    }

    // AccountKey=..., SharedAccessSignature=..., or a SAS query's sig= parameter (at the start, or after ?, & or ;).
    [GeneratedRegex(@"(AccountKey\s*=|SharedAccessSignature\s*=|(^|[?&;])\s*sig\s*=)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex SecretPattern();
}
