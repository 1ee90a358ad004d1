// One hospital's slice of the deployment: its own container, read/write there (Storage Blob Data
// Contributor scoped to that container only), and read-only access to the published global adapters
// (Storage Blob Data Reader scoped to the global container only). Nothing at account level.

@description('Storage account holding the containers.')
param storageAccountName string

@description('The hospital\'s container (round tasks in, adapter updates out).')
@minLength(3)
@maxLength(63)
param containerName string

@description('Container of published global adapters and round records.')
param globalContainerName string

@description('Object (principal) id of the hospital\'s identity in this tenant.')
param principalId string

@description('Kind of principal: ServicePrincipal for managed identities and app registrations.')
@allowed([
  'ServicePrincipal'
  'User'
  'Group'
])
param principalType string

var storageBlobDataContributor = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
var storageBlobDataReader = '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1'

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName

  resource blobService 'blobServices' existing = {
    name: 'default'

    resource hospitalContainer 'containers' = {
      name: containerName
      properties: {
        publicAccess: 'None'
      }
    }

    resource globalContainer 'containers' existing = {
      name: globalContainerName
    }
  }
}

resource readWriteOwnContainer 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: account::blobService::hospitalContainer
  name: guid(account::blobService::hospitalContainer.id, principalId, storageBlobDataContributor)
  properties: {
    principalId: principalId
    principalType: principalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataContributor)
  }
}

resource readGlobalAdapters 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: account::blobService::globalContainer
  name: guid(account::blobService::globalContainer.id, principalId, storageBlobDataReader)
  properties: {
    principalId: principalId
    principalType: principalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataReader)
  }
}

output containerName string = account::blobService::hospitalContainer.name
