// The one storage account of a FedTune deployment: Durable Functions state (queues, tables, blobs),
// the Flex Consumption deployment package, the published global adapters and round records, and one
// container per hospital. Shared-key access is off: every caller authenticates with Microsoft Entra ID.

@description('Storage account name: 3-24 lowercase letters and digits, globally unique.')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region of the account.')
param location string

@description('Tags applied to every resource.')
param tags object

@description('Whether the blob, queue and table endpoints accept traffic from public networks. Disabled requires private endpoints (not created by this template).')
@allowed([
  'Enabled'
  'Disabled'
])
param publicNetworkAccess string

@description('Days a deleted blob or blob version stays recoverable.')
@minValue(1)
@maxValue(365)
param blobSoftDeleteDays int

@description('Days a deleted container stays recoverable.')
@minValue(1)
@maxValue(365)
param containerSoftDeleteDays int

@description('Container holding the published global adapters and round records.')
param globalContainerName string

@description('Container holding the Functions app deployment package (Flex Consumption).')
param deploymentContainerName string

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: publicNetworkAccess
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: publicNetworkAccess == 'Enabled' ? 'Allow' : 'Deny'
    }
    encryption: {
      keySource: 'Microsoft.Storage'
      services: {
        blob: {
          enabled: true
          keyType: 'Account'
        }
        file: {
          enabled: true
          keyType: 'Account'
        }
      }
    }
  }

  resource blobService 'blobServices' = {
    name: 'default'
    properties: {
      isVersioningEnabled: true
      deleteRetentionPolicy: {
        enabled: true
        days: blobSoftDeleteDays
      }
      containerDeleteRetentionPolicy: {
        enabled: true
        days: containerSoftDeleteDays
      }
    }

    resource globalContainer 'containers' = {
      name: globalContainerName
      properties: {
        publicAccess: 'None'
      }
    }

    resource deploymentContainer 'containers' = {
      name: deploymentContainerName
      properties: {
        publicAccess: 'None'
      }
    }
  }
}

output name string = account.name
output id string = account.id
output blobEndpoint string = account.properties.primaryEndpoints.blob
output queueEndpoint string = account.properties.primaryEndpoints.queue
output tableEndpoint string = account.properties.primaryEndpoints.table
output globalContainerName string = account::blobService::globalContainer.name
output deploymentContainerName string = account::blobService::deploymentContainer.name
