using FedTune.Core.Protocol;
using Microsoft.Extensions.Options;

namespace FedTune.ClientAgent.Configuration;

/// <summary>
/// Checks <see cref="AgentOptions"/> at start (<c>ValidateOnStart</c>): every problem is reported at once, each naming
/// the setting, what is wrong and how to fix it, so a misconfigured service fails fast instead of polling forever.
/// </summary>
public sealed class AgentOptionsValidator(SettingsFileSecretGuard secretGuard) : IValidateOptions<AgentOptions>
{
    public ValidateOptionsResult Validate(string? name, AgentOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();

        if (string.IsNullOrWhiteSpace(options.HospitalId))
        {
            errors.Add("HospitalId is not set. Fix: set HospitalId in appsettings.json, FEDTUNE_AGENT_HospitalId or --HospitalId (e.g. 'st-marys').");
        }
        else if (!BlobLayout.IsValidHospitalId(options.HospitalId))
        {
            errors.Add($"HospitalId '{options.HospitalId}' cannot name a storage container. Fix: use a-z, 0-9 and single hyphens (e.g. 'st-marys-2').");
        }

        ValidateStorage(options.Storage, errors);
        errors.AddRange(secretGuard.FindAccountKeysInSettingsFiles(options.Storage.AllowAccountKeyInSettingsFile));
        ValidateData(options.Data, errors);

        if (string.IsNullOrWhiteSpace(options.ModelPath))
        {
            errors.Add("ModelPath is not set. Fix: point ModelPath at the base model folder (config.json, model.safetensors, tokenizer.json), e.g. the one `fedtune base create` writes.");
        }
        else if (!Directory.Exists(options.ModelPath))
        {
            errors.Add($"ModelPath '{options.ModelPath}' does not exist. Fix: point it at the base model folder (or create one with `fedtune base create`).");
        }

        if (string.IsNullOrWhiteSpace(options.WorkPath))
        {
            errors.Add("WorkPath is not set. Fix: set a local folder the agent may write (task state, downloads, trainer checkpoints), e.g. /var/lib/fedtune-agent.");
        }

        if (options.Evaluation.BatchSize < 1)
        {
            errors.Add($"Evaluation:BatchSize is {options.Evaluation.BatchSize}. Fix: use at least 1 (e.g. 4).");
        }

        if (options.ModelCache.MinAvailableMemoryMiB < 0)
        {
            errors.Add($"ModelCache:MinAvailableMemoryMiB is {options.ModelCache.MinAvailableMemoryMiB}. Fix: use 0 or more MiB (e.g. 1024), or set ModelCache:Enabled to false.");
        }

        if (options.ModelCache.IdleTimeout <= TimeSpan.Zero)
        {
            errors.Add($"ModelCache:IdleTimeout {options.ModelCache.IdleTimeout} is not positive. Fix: use e.g. 00:10:00, or set ModelCache:Enabled to false.");
        }

        ValidatePolling(options.Polling, errors);
        ValidateLease(options.Lease, errors);
        if (options.Upload.MaxAttempts < 1 || options.Upload.FirstDelay <= TimeSpan.Zero || options.Upload.MaxDelay < options.Upload.FirstDelay)
        {
            errors.Add("Upload retry settings are inconsistent. Fix: MaxAttempts >= 1, FirstDelay > 0 and MaxDelay >= FirstDelay.");
        }

        if (options.ShutdownTimeout <= TimeSpan.Zero || options.ShutdownTimeout > TimeSpan.FromMinutes(10))
        {
            errors.Add($"ShutdownTimeout {options.ShutdownTimeout} is outside (0, 10 min]. Fix: use e.g. 00:00:30 (and keep systemd's TimeoutStopSec above it).");
        }

        if (options.ExitAfterTasks < 0)
        {
            errors.Add("ExitAfterTasks must be 0 (run until stopped) or a positive number of tasks.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void ValidateStorage(StorageOptions storage, List<string> errors)
    {
        switch (storage.Mode)
        {
            case CredentialMode.ConnectionString:
                if (string.IsNullOrWhiteSpace(storage.ConnectionString))
                {
                    errors.Add("Storage:Mode is ConnectionString but Storage:ConnectionString is empty. Fix: set FEDTUNE_AGENT_Storage__ConnectionString (e.g. Azurite's) or choose another Storage:Mode.");
                }
                break;
            case CredentialMode.Sas:
                RequireHttpsEndpoint(storage, errors);
                if (string.IsNullOrWhiteSpace(storage.SasToken))
                {
                    errors.Add("Storage:Mode is Sas but Storage:SasToken is empty. Fix: set FEDTUNE_AGENT_Storage__SasToken to a SAS for this hospital's container (read, write, list, add, create).");
                }
                break;
            case CredentialMode.ManagedIdentity:
                RequireHttpsEndpoint(storage, errors);
                if (string.IsNullOrWhiteSpace(storage.ManagedIdentityClientId))
                {
                    errors.Add("Storage:Mode is ManagedIdentity but Storage:ManagedIdentityClientId is empty. Fix: set the client id of the user-assigned identity, or use DefaultAzureCredential.");
                }
                break;
            case CredentialMode.DefaultAzureCredential:
                RequireHttpsEndpoint(storage, errors);
                break;
            default:
                errors.Add($"Storage:Mode '{storage.Mode}' is unknown. Fix: use DefaultAzureCredential, ManagedIdentity, Sas or ConnectionString.");
                break;
        }
    }

    private static void RequireHttpsEndpoint(StorageOptions storage, List<string> errors)
    {
        if (storage.Endpoint is null)
        {
            errors.Add($"Storage:Endpoint is not set (needed by Storage:Mode {storage.Mode}). Fix: set it to the blob endpoint, e.g. https://<account>.blob.core.windows.net.");
        }
        else if (!storage.Endpoint.IsAbsoluteUri || storage.Endpoint.Scheme != Uri.UriSchemeHttps)
        {
            errors.Add($"Storage:Endpoint '{storage.Endpoint}' is not an absolute https URL. Fix: use https://<account>.blob.core.windows.net (plain http only with a connection string for Azurite).");
        }
    }

    private static void ValidateData(DataOptions data, List<string> errors)
    {
        var paths = data.Paths.Where(p => !string.IsNullOrWhiteSpace(p)).ToList();
        if (paths.Count == 0)
        {
            errors.Add("Data:Paths is empty. Fix: list the hospital's private data file(s), e.g. \"Data\": { \"Paths\": [\"/srv/data/notes.jsonl\"] } or FEDTUNE_AGENT_Data__Paths__0.");
        }

        foreach (var column in new[] { data.InstructionColumn, data.InputColumn, data.OutputColumn })
        {
            if (string.IsNullOrWhiteSpace(column))
            {
                errors.Add("Data:InstructionColumn, Data:InputColumn and Data:OutputColumn must all name a field/column.");
                break;
            }
        }

        if (!(data.HeldOutFraction >= 0 && data.HeldOutFraction < 1))
        {
            errors.Add($"Data:HeldOutFraction {data.HeldOutFraction} is outside [0, 1). Fix: use e.g. 0.1 (10% of the records held out for evaluation).");
        }

        if (data.MaxRecordCharacters < 16)
        {
            errors.Add($"Data:MaxRecordCharacters {data.MaxRecordCharacters} is too small. Fix: use e.g. 32768.");
        }

        if (data.MaxEvalExamples < 1)
        {
            errors.Add("Data:MaxEvalExamples must be at least 1.");
        }
    }

    private static void ValidatePolling(PollingOptions polling, List<string> errors)
    {
        if (polling.MinInterval < TimeSpan.FromMilliseconds(100))
        {
            errors.Add($"Polling:MinInterval {polling.MinInterval} is below 100 ms, which would hammer Storage. Fix: use e.g. 00:00:05.");
        }

        if (polling.MaxInterval < polling.MinInterval)
        {
            errors.Add($"Polling:MaxInterval {polling.MaxInterval} is below Polling:MinInterval {polling.MinInterval}. Fix: make MaxInterval >= MinInterval.");
        }

        if (!(polling.BackoffFactor >= 1 && polling.BackoffFactor <= 10))
        {
            errors.Add($"Polling:BackoffFactor {polling.BackoffFactor} is outside [1, 10]. Fix: use e.g. 2.");
        }

        if (!(polling.Jitter >= 0 && polling.Jitter < 1))
        {
            errors.Add($"Polling:Jitter {polling.Jitter} is outside [0, 1). Fix: use e.g. 0.25.");
        }
    }

    private static void ValidateLease(LeaseOptions lease, List<string> errors)
    {
        if (lease.Duration < TimeSpan.FromSeconds(15) || lease.Duration > TimeSpan.FromSeconds(60))
        {
            errors.Add($"Lease:Duration {lease.Duration} is outside Azure's 15-60 s. Fix: use e.g. 00:00:30.");
        }

        if (lease.RenewInterval <= TimeSpan.Zero || lease.RenewInterval > lease.Duration / 2)
        {
            errors.Add($"Lease:RenewInterval {lease.RenewInterval} must be positive and at most half of Lease:Duration ({lease.Duration}) so a slow renewal cannot lose the lease.");
        }
    }
}
