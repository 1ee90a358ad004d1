// The orchestrator: an Azure Functions app (isolated worker) on the Flex Consumption plan (FC1).
// It runs as a user-assigned managed identity; the Functions host, the Durable Functions Azure Storage
// provider, the deployment package and Application Insights all authenticate with that identity.
// No storage key or connection string with a secret appears anywhere.

@description('Function App name (also the default host name: <name>.azurewebsites.net).')
param name string

@description('Flex Consumption plan name.')
param planName string

@description('Azure region of the plan and app (must offer Flex Consumption).')
param location string

@description('Tags applied to every resource.')
param tags object

@description('Resource id of the user-assigned identity the app runs as.')
param identityId string

@description('Client (application) id of that identity.')
param identityClientId string

@description('Blob endpoint of the storage account, e.g. https://<account>.blob.core.windows.net/.')
param blobEndpoint string

@description('Queue endpoint of the storage account.')
param queueEndpoint string

@description('Table endpoint of the storage account.')
param tableEndpoint string

@description('Container holding the app\'s deployment package.')
param deploymentContainerName string

@description('Application Insights connection string (an ingestion address and resource id, not a credential: local auth is off).')
param appInsightsConnectionString string

@description('.NET version of the isolated worker; must match the app\'s TargetFramework (net10.0 -> 10.0).')
@allowed([
  '8.0'
  '9.0'
  '10.0'
])
param dotnetVersion string

@description('Instance memory in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int

@description('Upper bound on scale-out instances.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int

@description('Settings the orchestrator code reads. The platform settings above win on a name clash, so identity-based storage and Entra telemetry cannot be overridden.')
param orchestratorSettings object

var platformSettings = {
  AzureWebJobsStorage__blobServiceUri: blobEndpoint
  AzureWebJobsStorage__queueServiceUri: queueEndpoint
  AzureWebJobsStorage__tableServiceUri: tableEndpoint
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: appInsightsConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
  AZURE_CLIENT_ID: identityClientId
}

var appSettings = union(orchestratorSettings, platformSettings)

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource app 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: union(tags, {
    'azd-service-name': 'orchestrator'
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      appSettings: [
        for setting in items(appSettings): {
          name: setting.key
          value: string(setting.value)
        }
      ]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${blobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      runtime: {
        name: 'dotnet-isolated'
        version: dotnetVersion
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
    }
  }

  // Publishing uses Microsoft Entra tokens (az / func / azd); basic (user name + password) publishing is off.
  resource scmBasicAuth 'basicPublishingCredentialsPolicies' = {
    name: 'scm'
    properties: {
      allow: false
    }
  }

  resource ftpBasicAuth 'basicPublishingCredentialsPolicies' = {
    name: 'ftp'
    properties: {
      allow: false
    }
  }
}

output name string = app.name
output defaultHostName string = app.properties.defaultHostName
