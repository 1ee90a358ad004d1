// FedTune.Cloud production deployment (resource-group scope).
//
//   Storage account (Entra ID only, TLS 1.2, no public blobs, soft delete + versioning)
//     containers: <globalContainerName> (global adapters, round records), <hospitalContainerPrefix><name>
//                 per hospital (round tasks, adapter uploads), app-package-* (Functions deployment package)
//   Orchestrator Function App on Flex Consumption (.NET isolated) running as a user-assigned identity,
//     identity-based AzureWebJobsStorage and deployment storage
//   Log Analytics + Application Insights (local auth off, Entra ingestion)
//   Role assignments: orchestrator -> account-level blob/queue/table data roles + metrics publisher;
//     each hospital -> Blob Data Contributor on its own container, Blob Data Reader on the global container.
//
// See docs/infra.md for deployment, publishing and hospital onboarding.

metadata description = 'FedTune.Cloud: federated fine-tuning orchestrator with identity-only storage access and per-hospital isolation.'

@description('Short name used in resource names (3-11 characters; lowercased, hyphens and underscores dropped).')
@minLength(3)
@maxLength(11)
param baseName string = 'fedtune'

@description('Azure region for every resource. Must offer the Flex Consumption plan.')
param location string = resourceGroup().location

@description('Tags applied to every resource.')
param tags object = {}

@description('Whether the storage endpoints accept traffic from public networks. Hospitals on premises reach storage over the internet (HTTPS + Entra ID), so the default is Enabled; Disabled needs private endpoints and VNet integration, which this template does not create.')
@allowed([
  'Enabled'
  'Disabled'
])
param storagePublicNetworkAccess string = 'Enabled'

@description('Container of published global adapters and round records (every hospital can read it).')
@minLength(3)
@maxLength(63)
param globalContainerName string = 'global'

@description('Prefix of the per-hospital containers: a hospital named "st-mary" gets "hospital-st-mary".')
@minLength(1)
@maxLength(9)
param hospitalContainerPrefix string = 'hospital-'

@description('Days a deleted or overwritten blob (adapter, checkpoint, round record) stays recoverable.')
@minValue(1)
@maxValue(365)
param blobSoftDeleteDays int = 14

@description('Days a deleted container stays recoverable.')
@minValue(1)
@maxValue(365)
param containerSoftDeleteDays int = 14

@description('Days Log Analytics keeps telemetry.')
@minValue(30)
@maxValue(730)
param logRetentionDays int = 30

@description('.NET version of the orchestrator\'s isolated worker. 10.0 matches the app\'s TargetFramework net10.0.')
@allowed([
  '8.0'
  '9.0'
  '10.0'
])
param dotnetVersion string = '10.0'

@description('Flex Consumption instance memory in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Upper bound on orchestrator scale-out.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Durable Functions task hub name (letters and digits, 3-45 characters, starts with a letter).')
@minLength(3)
@maxLength(45)
param taskHubName string = 'FedTuneHub'

@description('Extra app settings for the orchestrator (plain values, no secrets), merged over the template\'s own.')
param additionalAppSettings object = {}

@description('Hospitals taking part. name: lowercase letters, digits and hyphens (it becomes part of a container name); principalId: object id of the hospital\'s managed identity or service principal in this tenant; principalType: ServicePrincipal for both.')
param hospitals hospitalType[] = []

@description('One hospital to onboard.')
type hospitalType = {
  @description('Lowercase letters, digits and single hyphens; the container is <hospitalContainerPrefix><name>.')
  @minLength(2)
  @maxLength(54)
  name: string

  @description('Object (principal) id of the hospital\'s identity (managed identity or service principal).')
  @minLength(36)
  @maxLength(36)
  principalId: string

  @description('ServicePrincipal for managed identities and app registrations.')
  principalType: 'ServicePrincipal' | 'User' | 'Group'
}

// Storage account names allow lowercase letters and digits only.
var name = toLower(replace(replace(baseName, '-', ''), '_', ''))
var resourceToken = toLower(uniqueString(subscription().id, resourceGroup().id, name))
var storageAccountName = take('st${name}${resourceToken}', 24)
var functionAppName = 'func-${name}-${resourceToken}'
var deploymentContainerName = take('app-package-${functionAppName}', 63)
var orchestratorIdentityName = 'id-${name}-orchestrator-${resourceToken}'
var appInsightsName = 'appi-${name}-${resourceToken}'

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    name: storageAccountName
    location: location
    tags: tags
    publicNetworkAccess: storagePublicNetworkAccess
    blobSoftDeleteDays: blobSoftDeleteDays
    containerSoftDeleteDays: containerSoftDeleteDays
    globalContainerName: globalContainerName
    deploymentContainerName: deploymentContainerName
  }
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  params: {
    name: orchestratorIdentityName
    location: location
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    workspaceName: 'log-${name}-${resourceToken}'
    appInsightsName: appInsightsName
    location: location
    tags: tags
    retentionInDays: logRetentionDays
  }
}

module orchestratorAccess 'modules/orchestratorAccess.bicep' = {
  name: 'orchestrator-access'
  params: {
    storageAccountName: storageAccountName
    appInsightsName: appInsightsName
    identityName: orchestratorIdentityName
  }
  dependsOn: [
    storage
    monitoring
    identity
  ]
}

module functionApp 'modules/functionApp.bicep' = {
  name: 'function-app'
  params: {
    name: functionAppName
    planName: 'plan-${name}-${resourceToken}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    blobEndpoint: storage.outputs.blobEndpoint
    queueEndpoint: storage.outputs.queueEndpoint
    tableEndpoint: storage.outputs.tableEndpoint
    deploymentContainerName: storage.outputs.deploymentContainerName
    appInsightsConnectionString: monitoring.outputs.connectionString
    dotnetVersion: dotnetVersion
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    orchestratorSettings: union(
      {
        FedTune__BlobServiceUri: storage.outputs.blobEndpoint
        FedTune__Storage__GlobalContainer: storage.outputs.globalContainerName
        FedTune__Storage__HospitalContainerPrefix: hospitalContainerPrefix
        FedTune__ManagedIdentityClientId: identity.outputs.clientId
        FedTune__TaskHubName: taskHubName
      },
      additionalAppSettings
    )
  }
  // The app's first start must find its storage roles in place, or the host fails to reach its storage.
  dependsOn: [
    orchestratorAccess
  ]
}

module uploadEvents 'modules/uploadEvents.bicep' = {
  name: 'upload-events'
  params: {
    storageAccountName: storageAccountName
    location: location
    tags: tags
    hospitalContainerPrefix: hospitalContainerPrefix
  }
  dependsOn: [
    storage
  ]
}

module hospitalAccess 'modules/hospitalAccess.bicep' = [
  for hospital in hospitals: {
    name: take('hospital-${hospital.name}', 64)
    params: {
      storageAccountName: storageAccountName
      containerName: '${hospitalContainerPrefix}${hospital.name}'
      globalContainerName: globalContainerName
      principalId: hospital.principalId
      principalType: hospital.principalType
    }
    dependsOn: [
      storage
    ]
  }
]

@description('Microsoft Entra tenant the identities authenticate against.')
output tenantId string = tenant().tenantId

@description('Storage account name.')
output storageAccountName string = storage.outputs.name

@description('Blob endpoint every agent and the orchestrator use.')
output blobEndpoint string = storage.outputs.blobEndpoint

@description('Container of published global adapters and round records.')
output globalContainerName string = storage.outputs.globalContainerName

@description('Orchestrator Function App name (publish target).')
output functionAppName string = functionApp.outputs.name

@description('Orchestrator base URL (operator HTTP API).')
output orchestratorUrl string = 'https://${functionApp.outputs.defaultHostName}'

@description('Client id of the orchestrator managed identity.')
output orchestratorIdentityClientId string = identity.outputs.clientId

@description('What each hospital agent needs: its container, the global container, the blob endpoint and the tenant.')
output hospitalAgents array = [
  for (hospital, i) in hospitals: {
    name: hospital.name
    principalId: hospital.principalId
    tenantId: tenant().tenantId
    blobEndpoint: storage.outputs.blobEndpoint
    container: hospitalAccess[i].outputs.containerName
    globalContainer: storage.outputs.globalContainerName
  }
]
