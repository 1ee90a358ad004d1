using FedTune.Infra.Tests.Policy;
using FedTune.Infra.Tests.Support;

namespace FedTune.Infra.Tests;

/// <summary>Reads the compiled ARM JSON and the evaluated deployment of infra/main.bicep for three hospitals.</summary>
public sealed class DeploymentSecurityTests(DeployedTemplateFixture deployment) : IClassFixture<DeployedTemplateFixture>
{
    private DeploymentSnapshot Snapshot => deployment.Snapshot;

    [Fact]
    public void Deployment_breaks_no_security_rule()
    {
        Assert.True(deployment.Build.ExitCode == 0, deployment.Build.ToString());

        var violations = InfraSecurityPolicy.Check(deployment.CompiledTemplate, Snapshot, DeployedTemplateFixture.Expected);

        Assert.True(violations.Count == 0, string.Join('\n', violations));
    }

    [Fact]
    public void Storage_account_refuses_shared_keys_and_requires_tls12_https_and_private_blobs()
    {
        var account = Snapshot.Single("Microsoft.Storage/storageAccounts");

        Assert.False(account.Properties!["allowSharedKeyAccess"]!.GetValue<bool>());
        Assert.False(account.Properties["allowBlobPublicAccess"]!.GetValue<bool>());
        Assert.True(account.Properties["supportsHttpsTrafficOnly"]!.GetValue<bool>());
        Assert.Equal("TLS1_2", account.StringProperty("minimumTlsVersion"));
        Assert.Equal("Enabled", account.StringProperty("publicNetworkAccess"));
        Assert.Empty(InfraSecurityPolicy.CheckPrivateContainers(Snapshot));
    }

    [Fact]
    public void Hospitals_manifests_and_failed_markers_raise_events_into_the_orchestrators_upload_queue()
    {
        var subscription = Snapshot.Single("Microsoft.EventGrid/systemTopics/eventSubscriptions").Properties!;
        var filter = subscription["filter"]!;

        Assert.Empty(InfraSecurityPolicy.CheckUploadEvents(Snapshot));
        Assert.EndsWith("/containers/hospital-", filter["subjectBeginsWith"]!.GetValue<string>(), StringComparison.Ordinal);
        var suffixes = filter["advancedFilters"]!.AsArray().Single()!;
        Assert.Equal("StringEndsWith", suffixes["operatorType"]!.GetValue<string>());
        Assert.Equal(["/update/manifest.json", "/failed.json"], suffixes["values"]!.AsArray().Select(v => v!.GetValue<string>()));
        Assert.Equal("upload-events", subscription["deliveryWithResourceIdentity"]!["destination"]!["properties"]!["queueName"]!.GetValue<string>());
    }

    [Fact]
    public void Blob_versioning_blob_soft_delete_and_container_soft_delete_are_on()
    {
        var blobService = Snapshot.Single("Microsoft.Storage/storageAccounts/blobServices").Properties!;

        Assert.True(blobService["isVersioningEnabled"]!.GetValue<bool>());
        Assert.True(blobService["deleteRetentionPolicy"]!["enabled"]!.GetValue<bool>());
        Assert.Equal(14, blobService["deleteRetentionPolicy"]!["days"]!.GetValue<int>());
        Assert.True(blobService["containerDeleteRetentionPolicy"]!["enabled"]!.GetValue<bool>());
    }

    [Fact]
    public void Compiled_template_holds_no_listKeys_call_or_account_key()
    {
        Assert.DoesNotContain("listKeys(", deployment.CompiledTemplate, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("AccountKey=", deployment.CompiledTemplate, StringComparison.OrdinalIgnoreCase);
        Assert.Empty(InfraSecurityPolicy.CheckNoKeyMaterial(deployment.CompiledTemplate, Snapshot));
    }

    [Fact]
    public void Function_app_reaches_its_host_storage_with_its_user_assigned_identity()
    {
        var settings = Snapshot.FunctionAppSettings;

        Assert.Equal("managedidentity", settings["AzureWebJobsStorage__credential"]);
        Assert.Contains("primaryEndpoints.blob", settings["AzureWebJobsStorage__blobServiceUri"], StringComparison.Ordinal);
        Assert.Contains("primaryEndpoints.queue", settings["AzureWebJobsStorage__queueServiceUri"], StringComparison.Ordinal);
        Assert.Contains("primaryEndpoints.table", settings["AzureWebJobsStorage__tableServiceUri"], StringComparison.Ordinal);
        Assert.Contains(".clientId", settings["AzureWebJobsStorage__clientId"], StringComparison.Ordinal);
        Assert.False(settings.ContainsKey("AzureWebJobsStorage"));
        Assert.Empty(InfraSecurityPolicy.CheckIdentityBasedHostStorage(Snapshot));
    }

    [Fact]
    public void Function_app_runs_dotnet_isolated_10_on_flex_consumption_with_identity_deployment_storage()
    {
        var plan = Snapshot.Single("Microsoft.Web/serverfarms");
        var runtime = Snapshot.Single("Microsoft.Web/sites").Properties!["functionAppConfig"]!["runtime"]!;

        Assert.Equal("FC1", plan.Body["sku"]!["name"]!.GetValue<string>());
        Assert.Equal("dotnet-isolated", runtime["name"]!.GetValue<string>());
        Assert.Equal("10.0", runtime["version"]!.GetValue<string>());
        Assert.Empty(InfraSecurityPolicy.CheckFlexConsumptionDotnet(Snapshot, DeployedTemplateFixture.Expected));
    }

    [Fact]
    public void Basic_auth_publishing_is_off_for_scm_and_ftp()
    {
        var policies = Snapshot.OfType("Microsoft.Web/sites/basicPublishingCredentialsPolicies").ToList();

        Assert.Equal(["ftp", "scm"], policies.Select(p => p.Name.Split('/')[^1]).Order(StringComparer.Ordinal));
        Assert.All(policies, policy => Assert.False(policy.Properties!["allow"]!.GetValue<bool>()));
    }

    [Fact]
    public void Application_insights_accepts_only_entra_authenticated_telemetry()
    {
        var component = Snapshot.Single("Microsoft.Insights/components");

        Assert.True(component.Properties!["DisableLocalAuth"]!.GetValue<bool>());
        Assert.Contains("Authorization=AAD", Snapshot.FunctionAppSettings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"], StringComparison.Ordinal);
        Assert.Empty(InfraSecurityPolicy.CheckEntraOnlyTelemetry(Snapshot));
    }

    [Fact]
    public void Orchestrator_identity_holds_exactly_the_durable_storage_roles_on_the_account()
    {
        var accountId = Snapshot.Single("Microsoft.Storage/storageAccounts").Id;

        var accountRoles = Snapshot.RoleAssignments.Where(a => a.Scope == accountId).Select(a => a.RoleDefinitionGuid).Order(StringComparer.Ordinal);

        Assert.Equal(
            new[] { AzureRoles.StorageTableDataContributor, AzureRoles.StorageQueueDataContributor, AzureRoles.StorageBlobDataOwner }.Order(StringComparer.Ordinal),
            accountRoles);
        Assert.Empty(InfraSecurityPolicy.CheckOrchestratorRoles(Snapshot));
    }

    [Fact]
    public void Each_hospital_writes_only_its_own_container_and_reads_only_the_global_container()
    {
        var accountId = Snapshot.Single("Microsoft.Storage/storageAccounts").Id;

        foreach (var hospital in DeployedTemplateFixture.Expected.Hospitals)
        {
            var grants = Snapshot.RoleAssignments.Where(a => a.PrincipalId == hospital.PrincipalId).ToList();

            Assert.Equal(2, grants.Count);
            Assert.Contains(grants, g => g.Scope == $"{accountId}/blobServices/default/containers/hospital-{hospital.Name}"
                                         && g.RoleDefinitionGuid == AzureRoles.StorageBlobDataContributor);
            Assert.Contains(grants, g => g.Scope == $"{accountId}/blobServices/default/containers/global"
                                         && g.RoleDefinitionGuid == AzureRoles.StorageBlobDataReader);
        }

        Assert.Empty(InfraSecurityPolicy.CheckHospitalIsolation(Snapshot, DeployedTemplateFixture.Expected));
    }

    [Fact]
    public void No_hospital_holds_a_role_above_container_scope()
    {
        var hospitalPrincipals = DeployedTemplateFixture.Expected.Hospitals.Select(h => h.PrincipalId).ToHashSet();

        var hospitalScopes = Snapshot.RoleAssignments.Where(a => hospitalPrincipals.Contains(a.PrincipalId)).Select(a => a.Scope).ToList();

        Assert.Equal(6, hospitalScopes.Count);
        Assert.All(hospitalScopes, scope => Assert.Matches("/blobServices/default/containers/[a-z0-9-]+$", scope));
    }

    [Fact]
    public void Outputs_give_each_hospital_agent_its_container_the_global_container_the_endpoint_and_the_tenant()
    {
        var agents = Snapshot.Outputs["hospitalAgents"]!.GetValue<string>();

        foreach (var hospital in DeployedTemplateFixture.Expected.Hospitals)
        {
            Assert.Contains($"'name', '{hospital.Name}'", agents, StringComparison.Ordinal);
            Assert.Contains($"'container', 'hospital-{hospital.Name}'", agents, StringComparison.Ordinal);
        }

        Assert.Contains("'globalContainer', 'global'", agents, StringComparison.Ordinal);
        Assert.Contains($"'tenantId', '{InfraWorkspace.TenantId}'", agents, StringComparison.Ordinal);
        Assert.Contains("primaryEndpoints.blob", agents, StringComparison.Ordinal);
        Assert.Equal(InfraWorkspace.TenantId, Snapshot.Outputs["tenantId"]!.GetValue<string>());
    }

    [Fact]
    public void Function_app_settings_tell_the_orchestrator_its_containers_task_hub_and_identity()
    {
        var settings = Snapshot.FunctionAppSettings;

        Assert.Contains("primaryEndpoints.blob", settings["FedTune__BlobServiceUri"], StringComparison.Ordinal);
        Assert.Equal("global", settings["FedTune__Storage__GlobalContainer"]);
        Assert.Equal("hospital-", settings["FedTune__Storage__HospitalContainerPrefix"]);
        Assert.Equal("FedTuneHub", settings["FedTune__TaskHubName"]);
        Assert.Equal(settings["AzureWebJobsStorage__clientId"], settings["AZURE_CLIENT_ID"]);
        Assert.Equal(settings["AzureWebJobsStorage__clientId"], settings["FedTune__ManagedIdentityClientId"]);
    }
}
