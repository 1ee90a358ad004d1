using FedTune.Infra.Tests.Policy;
using FedTune.Infra.Tests.Support;

namespace FedTune.Infra.Tests;

/// <summary>
/// Breaks one security property in a private copy of infra/ and checks that the policy catches it,
/// so the checks in <see cref="DeploymentSecurityTests"/> cannot pass vacuously.
/// </summary>
public sealed class PolicyRegressionTests
{
    public static TheoryData<string, string, string, string> Regressions => new()
    {
        { "modules/storage.bicep", "allowSharedKeyAccess: false", "allowSharedKeyAccess: true", InfraSecurityPolicy.StorageHardening },
        { "modules/storage.bicep", "isVersioningEnabled: true", "isVersioningEnabled: false", InfraSecurityPolicy.BlobDataProtection },
        {
            "modules/functionApp.bicep", "AzureWebJobsStorage__credential: 'managedidentity'",
            "AzureWebJobsStorage: 'DefaultEndpointsProtocol=https;AccountName=x;AccountKey=${deploymentContainerName}'",
            InfraSecurityPolicy.NoKeyMaterial
        },
        { "modules/monitoring.bicep", "DisableLocalAuth: true", "DisableLocalAuth: false", InfraSecurityPolicy.EntraOnlyTelemetry },
        { "modules/orchestratorAccess.bicep", "'0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'", "'76199698-9eea-4c19-bc75-cec21354c6b6'", InfraSecurityPolicy.OrchestratorRoles },
        { "modules/hospitalAccess.bicep", "scope: account::blobService::hospitalContainer", "scope: account", InfraSecurityPolicy.HospitalIsolation },
        { "modules/hospitalAccess.bicep", "'2a2b9908-6ea1-4ae2-8e65-a410df84e7d1'", "'ba92f5b4-2d11-453d-a403-e96b0029c9fe'", InfraSecurityPolicy.HospitalIsolation },
        { "modules/uploadEvents.bicep", "scope: account::queueService::queue", "scope: account", InfraSecurityPolicy.UploadEvents },
        { "modules/uploadEvents.bicep", "'Microsoft.Storage.BlobCreated'", "'Microsoft.Storage.BlobCreated'\n        'Microsoft.Storage.BlobDeleted'", InfraSecurityPolicy.UploadEvents },
    };

    [Theory]
    [MemberData(nameof(Regressions))]
    public void Policy_reports_a_regressed_security_property(string file, string original, string regressed, string expectedRule)
    {
        using var workspace = InfraWorkspace.CopyOfRepositoryInfra();
        workspace.Replace(file, original, regressed);
        workspace.WriteFile("test.bicepparam", DeployedTemplateFixture.ParametersFor(DeployedTemplateFixture.Expected));

        var build = workspace.Build();
        var violations = InfraSecurityPolicy.Check(build.StandardOutput, workspace.Snapshot("test.bicepparam"), DeployedTemplateFixture.Expected);

        Assert.Contains(violations, violation => violation.Rule == expectedRule);
    }

    [Fact]
    public void Storage_public_network_access_follows_its_parameter()
    {
        using var workspace = InfraWorkspace.CopyOfRepositoryInfra();
        workspace.WriteFile("private.bicepparam", "using 'main.bicep'\n\nparam storagePublicNetworkAccess = 'Disabled'\n");

        var account = workspace.Snapshot("private.bicepparam").Single("Microsoft.Storage/storageAccounts");

        Assert.Equal("Disabled", account.StringProperty("publicNetworkAccess"));
        Assert.Equal("Deny", account.Properties!["networkAcls"]!["defaultAction"]!.GetValue<string>());
    }

    [Fact]
    public void Additional_app_settings_cannot_override_identity_based_host_storage()
    {
        using var workspace = InfraWorkspace.CopyOfRepositoryInfra();
        workspace.WriteFile("override.bicepparam", """
            using 'main.bicep'

            param additionalAppSettings = {
              AzureWebJobsStorage__credential: 'connectionstring'
              WEBSITE_USE_PLACEHOLDER_DOTNETISOLATED: '0'
            }
            """);

        var settings = workspace.Snapshot("override.bicepparam").FunctionAppSettings;

        Assert.Equal("managedidentity", settings["AzureWebJobsStorage__credential"]);
        Assert.Equal("0", settings["WEBSITE_USE_PLACEHOLDER_DOTNETISOLATED"]);
    }
}
