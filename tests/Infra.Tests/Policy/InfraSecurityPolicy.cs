using System.Text.Json.Nodes;
using FedTune.Infra.Tests.Support;

namespace FedTune.Infra.Tests.Policy;

/// <summary>
/// The security properties the FedTune deployment must have, checked against the compiled ARM JSON and
/// the evaluated deployment snapshot. Each rule returns violations instead of asserting, so the same
/// checks run on the real templates (no violations) and on deliberately broken copies (violations found).
/// </summary>
public static class InfraSecurityPolicy
{
    public const string StorageHardening = "storage-hardening";
    public const string BlobDataProtection = "blob-data-protection";
    public const string PrivateContainers = "private-containers";
    public const string NoKeyMaterial = "no-key-material";
    public const string IdentityBasedHostStorage = "identity-based-host-storage";
    public const string FlexConsumptionDotnet = "flex-consumption-dotnet";
    public const string EntraOnlyTelemetry = "entra-only-telemetry";
    public const string OrchestratorRoles = "orchestrator-roles";
    public const string HospitalIsolation = "hospital-isolation";
    public const string UploadEvents = "upload-events";
    public const string UploadEventsQueue = "upload-events";

    private const string StorageAccountType = "Microsoft.Storage/storageAccounts";
    private const string ContainerType = "Microsoft.Storage/storageAccounts/blobServices/containers";
    private const string IdentityType = "Microsoft.ManagedIdentity/userAssignedIdentities";
    private const string SystemTopicType = "Microsoft.EventGrid/systemTopics";
    private const string EventSubscriptionType = "Microsoft.EventGrid/systemTopics/eventSubscriptions";

    public static IReadOnlyList<PolicyViolation> Check(string compiledTemplate, DeploymentSnapshot snapshot, ExpectedDeployment expected) =>
    [
        .. CheckStorageHardening(snapshot),
        .. CheckBlobDataProtection(snapshot),
        .. CheckPrivateContainers(snapshot),
        .. CheckNoKeyMaterial(compiledTemplate, snapshot),
        .. CheckIdentityBasedHostStorage(snapshot),
        .. CheckFlexConsumptionDotnet(snapshot, expected),
        .. CheckEntraOnlyTelemetry(snapshot),
        .. CheckOrchestratorRoles(snapshot),
        .. CheckHospitalIsolation(snapshot, expected),
        .. CheckUploadEvents(snapshot),
    ];

    /// <summary>
    /// Uploads raise events: one Event Grid system topic on the storage account with its own identity, one subscription
    /// delivering only BlobCreated events of hospital containers, with that identity (no keys), to the upload-events queue,
    /// and that identity may only send messages to that queue.
    /// </summary>
    public static IEnumerable<PolicyViolation> CheckUploadEvents(DeploymentSnapshot snapshot)
    {
        var topics = snapshot.OfType(SystemTopicType).ToList();
        var subscriptions = snapshot.OfType(EventSubscriptionType).ToList();
        if (topics.Count != 1 || subscriptions.Count != 1)
        {
            yield return new(UploadEvents, $"expected one Event Grid system topic and one subscription, found {topics.Count} and {subscriptions.Count}");
            yield break;
        }
        var topic = topics[0];
        if (topic.Body["identity"]?["type"]?.GetValue<string>() != "SystemAssigned")
        {
            yield return new(UploadEvents, "the system topic must deliver with its system-assigned identity");
        }
        if (topic.StringProperty("topicType") != "Microsoft.Storage.StorageAccounts" ||
            topic.StringProperty("source")?.Contains(snapshot.Single(StorageAccountType).Id, StringComparison.OrdinalIgnoreCase) != true)
        {
            yield return new(UploadEvents, "the system topic must watch the deployment's storage account");
        }
        var properties = subscriptions[0].Properties;
        var types = properties?["filter"]?["includedEventTypes"]?.AsArray().Select(t => t?.GetValue<string>()).ToList() ?? [];
        if (types is not ["Microsoft.Storage.BlobCreated"])
        {
            yield return new(UploadEvents, $"the subscription must deliver only Microsoft.Storage.BlobCreated, not [{string.Join(", ", types)}]");
        }
        var delivery = properties?["deliveryWithResourceIdentity"];
        if (delivery?["identity"]?["type"]?.GetValue<string>() != "SystemAssigned" ||
            delivery["destination"]?["endpointType"]?.GetValue<string>() != "StorageQueue" ||
            delivery["destination"]?["properties"]?["queueName"]?.GetValue<string>() != UploadEventsQueue)
        {
            yield return new(UploadEvents, $"the subscription must deliver with the topic's identity to the storage queue {UploadEventsQueue}");
        }
        foreach (var assignment in snapshot.RoleAssignments.Where(a => IsTopicPrincipal(snapshot, a.PrincipalId)))
        {
            if (assignment.RoleDefinitionGuid != AzureRoles.StorageQueueDataMessageSender ||
                !assignment.Scope.EndsWith("/queues/" + UploadEventsQueue, StringComparison.Ordinal))
            {
                yield return new(UploadEvents, $"the system topic's identity holds role {assignment.RoleDefinitionGuid} on {assignment.Scope}; " +
                    $"it may only send messages to the {UploadEventsQueue} queue");
            }
        }
    }

    /// <summary>The system topic's principal id, known at deployment time only: a reference() to the topic's identity.</summary>
    private static bool IsTopicPrincipal(DeploymentSnapshot snapshot, string principalId) =>
        principalId.StartsWith("[reference(", StringComparison.Ordinal)
        && snapshot.OfType(SystemTopicType).Any(t => principalId.Contains(t.Id, StringComparison.OrdinalIgnoreCase))
        && principalId.EndsWith(".principalId]", StringComparison.Ordinal);

    public static IEnumerable<PolicyViolation> CheckStorageHardening(DeploymentSnapshot snapshot)
    {
        var accounts = snapshot.OfType(StorageAccountType).ToList();
        if (accounts.Count != 1)
        {
            yield return new(StorageHardening, $"expected exactly one storage account, found {accounts.Count}");
            yield break;
        }

        var properties = accounts[0].Properties;
        foreach (var (name, required) in new (string, object)[]
                 {
                     ("allowSharedKeyAccess", false), ("allowBlobPublicAccess", false), ("supportsHttpsTrafficOnly", true),
                     ("minimumTlsVersion", "TLS1_2"), ("defaultToOAuthAuthentication", true), ("allowCrossTenantReplication", false),
                 })
        {
            var actual = properties?[name]?.ToJsonString();
            var wanted = JsonValue.Create(required)!.ToJsonString();
            if (actual != wanted)
            {
                yield return new(StorageHardening, $"storage account {name} is {actual ?? "unset"}, must be {wanted}");
            }
        }
    }

    public static IEnumerable<PolicyViolation> CheckBlobDataProtection(DeploymentSnapshot snapshot)
    {
        var services = snapshot.OfType("Microsoft.Storage/storageAccounts/blobServices").ToList();
        if (services.Count != 1)
        {
            yield return new(BlobDataProtection, $"expected one blob service configuration, found {services.Count}");
            yield break;
        }

        var properties = services[0].Properties;
        if (properties?["isVersioningEnabled"]?.GetValue<bool>() != true)
        {
            yield return new(BlobDataProtection, "blob versioning is not enabled");
        }

        foreach (var policy in new[] { "deleteRetentionPolicy", "containerDeleteRetentionPolicy" })
        {
            var retention = properties?[policy];
            if (retention?["enabled"]?.GetValue<bool>() != true || (retention["days"]?.GetValue<int>() ?? 0) < 1)
            {
                yield return new(BlobDataProtection, $"{policy} must be enabled with at least one day, is {retention?.ToJsonString() ?? "unset"}");
            }
        }
    }

    public static IEnumerable<PolicyViolation> CheckPrivateContainers(DeploymentSnapshot snapshot)
    {
        foreach (var container in snapshot.OfType(ContainerType))
        {
            var access = container.Properties?["publicAccess"]?.GetValue<string>();
            if (access != "None")
            {
                yield return new(PrivateContainers, $"container {container.Name} has publicAccess {access ?? "unset"}, must be None");
            }
        }
    }

    public static IEnumerable<PolicyViolation> CheckNoKeyMaterial(string compiledTemplate, DeploymentSnapshot snapshot)
    {
        foreach (var marker in new[] { "listKeys(", "listkeys(", "AccountKey=", "SharedAccessSignature=", "listAccountSas(", "listServiceSas(" })
        {
            if (compiledTemplate.Contains(marker, StringComparison.OrdinalIgnoreCase))
            {
                yield return new(NoKeyMaterial, $"the compiled template contains '{marker}'");
            }
        }

        foreach (var resource in snapshot.Resources)
        {
            if (resource.Body.ToJsonString().Contains("AccountKey=", StringComparison.OrdinalIgnoreCase))
            {
                yield return new(NoKeyMaterial, $"{resource.Type} {resource.Name} carries an account key");
            }
        }
    }

    public static IEnumerable<PolicyViolation> CheckIdentityBasedHostStorage(DeploymentSnapshot snapshot)
    {
        var settings = snapshot.FunctionAppSettings;
        var identityId = snapshot.Single(IdentityType).Id;

        foreach (var forbidden in new[] { "AzureWebJobsStorage", "DEPLOYMENT_STORAGE_CONNECTION_STRING", "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING" })
        {
            if (settings.ContainsKey(forbidden))
            {
                yield return new(IdentityBasedHostStorage, $"app setting {forbidden} (a connection string) must not exist");
            }
        }

        var required = new Dictionary<string, Func<string, bool>>
        {
            ["AzureWebJobsStorage__blobServiceUri"] = value => value.Contains(".primaryEndpoints.blob", StringComparison.Ordinal),
            ["AzureWebJobsStorage__queueServiceUri"] = value => value.Contains(".primaryEndpoints.queue", StringComparison.Ordinal),
            ["AzureWebJobsStorage__tableServiceUri"] = value => value.Contains(".primaryEndpoints.table", StringComparison.Ordinal),
            ["AzureWebJobsStorage__credential"] = value => value == "managedidentity",
            ["AzureWebJobsStorage__clientId"] = value => value.Contains(identityId, StringComparison.OrdinalIgnoreCase)
                                                         && value.Contains(".clientId", StringComparison.Ordinal),
        };
        foreach (var (name, isRight) in required)
        {
            if (!settings.TryGetValue(name, out var value))
            {
                yield return new(IdentityBasedHostStorage, $"app setting {name} is missing");
            }
            else if (!isRight(value))
            {
                yield return new(IdentityBasedHostStorage, $"app setting {name} has an unexpected value: {value}");
            }
        }

        var site = snapshot.Single("Microsoft.Web/sites");
        var identities = site.Body["identity"]?["userAssignedIdentities"]?.AsObject();
        if (site.Body["identity"]?["type"]?.GetValue<string>() != "UserAssigned" || identities?.ContainsKey(identityId) != true)
        {
            yield return new(IdentityBasedHostStorage, "the Function App does not run as the orchestrator's user-assigned identity");
        }
    }

    public static IEnumerable<PolicyViolation> CheckFlexConsumptionDotnet(DeploymentSnapshot snapshot, ExpectedDeployment expected)
    {
        var plan = snapshot.Single("Microsoft.Web/serverfarms");
        if (plan.Body["sku"]?["name"]?.GetValue<string>() != "FC1" || plan.Body["sku"]?["tier"]?.GetValue<string>() != "FlexConsumption")
        {
            yield return new(FlexConsumptionDotnet, $"the plan sku is {plan.Body["sku"]?.ToJsonString()}, must be FC1 / FlexConsumption");
        }

        var site = snapshot.Single("Microsoft.Web/sites");
        var config = site.Properties?["functionAppConfig"];
        var runtime = config?["runtime"];
        if (runtime?["name"]?.GetValue<string>() != "dotnet-isolated" || runtime["version"]?.GetValue<string>() != expected.DotnetVersion)
        {
            yield return new(FlexConsumptionDotnet, $"runtime is {runtime?.ToJsonString() ?? "unset"}, must be dotnet-isolated {expected.DotnetVersion}");
        }

        var deploymentStorage = config?["deployment"]?["storage"];
        var authentication = deploymentStorage?["authentication"];
        if (authentication?["type"]?.GetValue<string>() != "UserAssignedIdentity"
            || authentication["userAssignedIdentityResourceId"]?.GetValue<string>() != snapshot.Single(IdentityType).Id)
        {
            yield return new(FlexConsumptionDotnet, $"deployment storage must authenticate with the orchestrator identity, is {authentication?.ToJsonString() ?? "unset"}");
        }

        if (site.Properties?["httpsOnly"]?.GetValue<bool>() != true)
        {
            yield return new(FlexConsumptionDotnet, "the Function App must be HTTPS only");
        }

        if (snapshot.FunctionAppSettings.ContainsKey("FUNCTIONS_WORKER_RUNTIME"))
        {
            yield return new(FlexConsumptionDotnet, "FUNCTIONS_WORKER_RUNTIME is not allowed on Flex Consumption (the runtime lives in functionAppConfig)");
        }
    }

    public static IEnumerable<PolicyViolation> CheckEntraOnlyTelemetry(DeploymentSnapshot snapshot)
    {
        var component = snapshot.Single("Microsoft.Insights/components");
        if (component.Properties?["DisableLocalAuth"]?.GetValue<bool>() != true)
        {
            yield return new(EntraOnlyTelemetry, "Application Insights must have DisableLocalAuth true");
        }

        if (string.IsNullOrEmpty(component.StringProperty("WorkspaceResourceId")))
        {
            yield return new(EntraOnlyTelemetry, "Application Insights must be backed by a Log Analytics workspace");
        }

        var settings = snapshot.FunctionAppSettings;
        if (!settings.TryGetValue("APPLICATIONINSIGHTS_AUTHENTICATION_STRING", out var authentication)
            || !authentication.Contains("Authorization=AAD", StringComparison.Ordinal)
            || !authentication.Contains(snapshot.Single(IdentityType).Id, StringComparison.OrdinalIgnoreCase))
        {
            yield return new(EntraOnlyTelemetry, "APPLICATIONINSIGHTS_AUTHENTICATION_STRING must select Entra auth with the orchestrator identity's client id");
        }

        var publishers = snapshot.RoleAssignments
            .Where(assignment => assignment.RoleDefinitionGuid == AzureRoles.MonitoringMetricsPublisher)
            .ToList();
        if (publishers.Count != 1 || !string.Equals(publishers[0].Scope, component.Id, StringComparison.OrdinalIgnoreCase)
            || !IsOrchestratorPrincipal(snapshot, publishers[0].PrincipalId))
        {
            yield return new(EntraOnlyTelemetry, "the orchestrator identity needs Monitoring Metrics Publisher on the Application Insights component, and nobody else");
        }
    }

    public static IEnumerable<PolicyViolation> CheckOrchestratorRoles(DeploymentSnapshot snapshot)
    {
        var accountId = snapshot.Single(StorageAccountType).Id;
        var granted = snapshot.RoleAssignments
            .Where(assignment => IsOrchestratorPrincipal(snapshot, assignment.PrincipalId)
                                 && string.Equals(assignment.Scope, accountId, StringComparison.OrdinalIgnoreCase))
            .Select(assignment => assignment.RoleDefinitionGuid)
            .Order(StringComparer.Ordinal)
            .ToList();
        var required = new[] { AzureRoles.StorageBlobDataOwner, AzureRoles.StorageQueueDataContributor, AzureRoles.StorageTableDataContributor }
            .Order(StringComparer.Ordinal)
            .ToList();
        if (!granted.SequenceEqual(required))
        {
            yield return new(OrchestratorRoles, $"orchestrator roles on the account are [{string.Join(", ", granted)}], must be exactly [{string.Join(", ", required)}]");
        }

        foreach (var assignment in snapshot.RoleAssignments.Where(a => a.PrincipalType != "ServicePrincipal" && IsOrchestratorPrincipal(snapshot, a.PrincipalId)))
        {
            yield return new(OrchestratorRoles, $"orchestrator assignment on {assignment.Scope} has principalType {assignment.PrincipalType}, must be ServicePrincipal");
        }
    }

    public static IEnumerable<PolicyViolation> CheckHospitalIsolation(DeploymentSnapshot snapshot, ExpectedDeployment expected)
    {
        var accountId = snapshot.Single(StorageAccountType).Id;
        var globalContainerId = $"{accountId}/blobServices/default/containers/{expected.GlobalContainerName}";

        foreach (var hospital in expected.Hospitals)
        {
            var ownContainerId = $"{accountId}/blobServices/default/containers/{expected.HospitalContainerPrefix}{hospital.Name}";
            if (!snapshot.OfType(ContainerType).Any(container => string.Equals(container.Id, ownContainerId, StringComparison.OrdinalIgnoreCase)))
            {
                yield return new(HospitalIsolation, $"hospital {hospital.Name} has no container {ownContainerId}");
            }

            var granted = snapshot.RoleAssignments
                .Where(assignment => string.Equals(assignment.PrincipalId, hospital.PrincipalId, StringComparison.OrdinalIgnoreCase))
                .Select(assignment => (Scope: assignment.Scope.ToUpperInvariant(), Role: assignment.RoleDefinitionGuid))
                .OrderBy(grant => grant.Scope, StringComparer.Ordinal)
                .ToList();
            var required = new[]
                {
                    (Scope: ownContainerId.ToUpperInvariant(), Role: AzureRoles.StorageBlobDataContributor),
                    (Scope: globalContainerId.ToUpperInvariant(), Role: AzureRoles.StorageBlobDataReader),
                }
                .OrderBy(grant => grant.Scope, StringComparer.Ordinal)
                .ToList();
            if (!granted.SequenceEqual(required))
            {
                yield return new(HospitalIsolation,
                    $"hospital {hospital.Name} is granted [{string.Join("; ", granted)}], must be exactly " +
                    $"Blob Data Contributor on its own container and Blob Data Reader on the global container");
            }
        }

        var hospitalPrincipals = expected.Hospitals.Select(h => h.PrincipalId).ToHashSet(StringComparer.OrdinalIgnoreCase);
        foreach (var assignment in snapshot.RoleAssignments)
        {
            var isHospital = hospitalPrincipals.Contains(assignment.PrincipalId);
            var isOrchestrator = IsOrchestratorPrincipal(snapshot, assignment.PrincipalId);
            // The Event Grid topic's own grant is checked by CheckUploadEvents.
            if (!isHospital && !isOrchestrator && !IsTopicPrincipal(snapshot, assignment.PrincipalId))
            {
                yield return new(HospitalIsolation, $"role {assignment.RoleDefinitionGuid} on {assignment.Scope} goes to an unknown principal {assignment.PrincipalId}");
            }
        }
    }

    /// <summary>The orchestrator's principal id is only known at deployment time: it appears as a reference() to its identity.</summary>
    private static bool IsOrchestratorPrincipal(DeploymentSnapshot snapshot, string principalId) =>
        principalId.StartsWith("[reference(", StringComparison.Ordinal)
        && principalId.Contains(snapshot.Single(IdentityType).Id, StringComparison.OrdinalIgnoreCase)
        && principalId.EndsWith(".principalId]", StringComparison.Ordinal);
}
