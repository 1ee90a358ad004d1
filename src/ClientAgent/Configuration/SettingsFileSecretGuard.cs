using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Json;

namespace FedTune.ClientAgent.Configuration;

/// <summary>
/// Refuses storage account keys written into JSON settings files (appsettings*.json): a key in a file is readable
/// by anyone who can read the install folder or a backup. Keys may come from the environment or the command line
/// (Azurite, local runs), or from a file only with <see cref="StorageOptions.AllowAccountKeyInSettingsFile"/>.
/// </summary>
public sealed class SettingsFileSecretGuard(IConfiguration configuration)
{
    private static readonly string[] SecretKeys = ["Storage:ConnectionString", "Storage:SasToken"];

    /// <summary>One message per settings file that holds an account key (empty when none, or when allowed).</summary>
    public IEnumerable<string> FindAccountKeysInSettingsFiles(bool allowed)
    {
        if (allowed || configuration is not IConfigurationRoot root)
        {
            yield break;
        }

        foreach (var provider in root.Providers.OfType<JsonConfigurationProvider>())
        {
            foreach (var key in SecretKeys)
            {
                if (provider.TryGet(key, out var value) && value != null &&
                    (value.Contains("AccountKey=", StringComparison.OrdinalIgnoreCase) ||
                     (key == "Storage:SasToken" && value.Contains("sig=", StringComparison.OrdinalIgnoreCase))))
                {
                    yield return $"{key} in settings file '{provider.Source.Path}' contains a secret (account key or SAS signature). " +
                                 "Fix: remove it from the file and pass it as an environment variable (FEDTUNE_AGENT_" + key.Replace(":", "__", StringComparison.Ordinal) +
                                 ", e.g. from a systemd EnvironmentFile readable only by the service user), or use Storage:Mode DefaultAzureCredential. " +
                                 "To accept the risk, set Storage:AllowAccountKeyInSettingsFile=true.";
                }
            }
        }
    }
}
