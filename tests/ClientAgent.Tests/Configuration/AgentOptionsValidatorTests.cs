using FedTune.ClientAgent.Configuration;
using FedTune.TestSupport;
using Microsoft.Extensions.Configuration;

namespace FedTune.ClientAgent.Tests.Configuration;

public sealed class AgentOptionsValidatorTests : IDisposable
{
    private readonly TempDirectory _dir = new("agent-options");

    public void Dispose() => _dir.Dispose();

    private AgentOptions ValidOptions() => new()
    {
        HospitalId = "st-marys",
        Storage = new StorageOptions { Mode = CredentialMode.ConnectionString, ConnectionString = "UseDevelopmentStorage=true" },
        Data = new DataOptions { Paths = [_dir.File("data.jsonl")] },
        ModelPath = _dir.Path,
        WorkPath = _dir.File("work"),
    };

    private static AgentOptionsValidator ValidatorFor(IConfiguration configuration) => new(new SettingsFileSecretGuard(configuration));

    private static AgentOptionsValidator EmptyValidator() => ValidatorFor(new ConfigurationBuilder().Build());

    [Fact]
    public void Validate_accepts_a_complete_local_configuration()
    {
        var result = EmptyValidator().Validate(null, ValidOptions());
        Assert.True(result.Succeeded, result.FailureMessage);
    }

    [Fact]
    public void Validate_reports_every_missing_setting_at_once_with_a_fix()
    {
        var result = EmptyValidator().Validate(null, new AgentOptions());

        Assert.True(result.Failed);
        var failures = result.Failures!.ToList();
        Assert.Contains(failures, f => f.StartsWith("HospitalId is not set", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Storage:Endpoint is not set", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Data:Paths is empty", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("ModelPath is not set", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("WorkPath is not set", StringComparison.Ordinal));
        Assert.All(failures, f => Assert.Contains("Fix", f, StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_rejects_a_negative_memory_floor_and_a_non_positive_idle_timeout_for_the_kept_model()
    {
        var options = ValidOptions();
        options.ModelCache = new ModelCacheOptions { MinAvailableMemoryMiB = -1, IdleTimeout = TimeSpan.Zero };

        var failures = EmptyValidator().Validate(null, options).Failures!.ToList();

        Assert.Contains(failures, f => f.StartsWith("ModelCache:MinAvailableMemoryMiB is -1. Fix:", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("ModelCache:IdleTimeout 00:00:00 is not positive. Fix:", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("St Mary's")]
    [InlineData("a--b")]
    [InlineData("-edge")]
    public void Validate_rejects_a_hospital_id_that_cannot_name_a_container(string id)
    {
        var options = ValidOptions();
        options.HospitalId = id;
        var result = EmptyValidator().Validate(null, options);
        Assert.Contains(result.Failures!, f => f.Contains("cannot name a storage container", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_requires_https_endpoint_and_sas_for_sas_mode()
    {
        var options = ValidOptions();
        options.Storage = new StorageOptions { Mode = CredentialMode.Sas, Endpoint = new Uri("http://acct.blob.core.windows.net") };
        var failures = EmptyValidator().Validate(null, options).Failures!.ToList();
        Assert.Contains(failures, f => f.Contains("not an absolute https URL", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.Contains("Storage:SasToken is empty", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_rejects_polling_that_would_hot_loop_and_a_lease_renewed_too_rarely()
    {
        var options = ValidOptions();
        options.Polling.MinInterval = TimeSpan.FromMilliseconds(10);
        options.Lease.Duration = TimeSpan.FromSeconds(20);
        options.Lease.RenewInterval = TimeSpan.FromSeconds(15);
        var failures = EmptyValidator().Validate(null, options).Failures!.ToList();
        Assert.Contains(failures, f => f.StartsWith("Polling:MinInterval", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Lease:RenewInterval", StringComparison.Ordinal));
    }

    [Fact]
    public void An_account_key_in_a_settings_file_is_refused_unless_explicitly_allowed()
    {
        var file = _dir.File("appsettings.json");
        File.WriteAllText(file, """
            { "Storage": { "Mode": "ConnectionString",
              "ConnectionString": "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=c2VjcmV0;EndpointSuffix=core.windows.net" } }
            """);
        var configuration = new ConfigurationBuilder().AddJsonFile(file).Build();
        var options = ValidOptions();
        options.Storage.ConnectionString = configuration["Storage:ConnectionString"];

        var refused = ValidatorFor(configuration).Validate(null, options);
        Assert.Contains(refused.Failures!, f => f.Contains("appsettings.json", StringComparison.Ordinal) &&
                                                 f.Contains("FEDTUNE_AGENT_Storage__ConnectionString", StringComparison.Ordinal));

        options.Storage.AllowAccountKeyInSettingsFile = true;
        Assert.True(ValidatorFor(configuration).Validate(null, options).Succeeded);
    }

    [Fact]
    public void An_account_key_from_the_environment_or_command_line_is_accepted()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Storage:ConnectionString"] = "AccountName=a;AccountKey=c2VjcmV0" })
            .Build();
        var options = ValidOptions();
        options.Storage.ConnectionString = configuration["Storage:ConnectionString"];
        Assert.True(ValidatorFor(configuration).Validate(null, options).Succeeded);
    }

    [Theory]
    [InlineData("ConnectionString", "BlobEndpoint=https://a.blob.core.windows.net;SharedAccessSignature=sv=2024-05-04&ss=b&sig=c2VjcmV0")]
    [InlineData("ConnectionString", "BlobEndpoint=https://a.blob.core.windows.net;SharedAccessSignature=sv=2024-05-04&ss=b&SIG=c2VjcmV0")]
    [InlineData("SasToken", "?sv=2024-05-04&ss=b&sig=c2VjcmV0")]
    [InlineData("Endpoint", "https://a.blob.core.windows.net/?sv=2024-05-04&sig=c2VjcmV0")]
    public void A_sas_signature_in_any_storage_setting_of_a_settings_file_is_refused_with_the_environment_variable_to_use(string key, string value)
    {
        var file = _dir.File("settings.json");
        File.WriteAllText(file, System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["Storage"] = new Dictionary<string, string> { ["Mode"] = "Sas", [key] = value },
        }));
        var configuration = new ConfigurationBuilder().AddJsonFile(file).Build();

        var refused = ValidatorFor(configuration).Validate(null, ValidOptions());

        Assert.False(refused.Succeeded);
        Assert.Contains(refused.Failures!, f => f.Contains("settings.json", StringComparison.Ordinal) &&
                                                 f.Contains($"FEDTUNE_AGENT_Storage__{key}", StringComparison.Ordinal) &&
                                                 !f.Contains("c2VjcmV0", StringComparison.Ordinal));
    }
}
