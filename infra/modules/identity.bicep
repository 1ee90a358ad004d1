// The user-assigned managed identity the orchestrator Function App runs as. User-assigned (not
// system-assigned) so its role assignments exist before the app first starts, and survive the app
// being deleted and recreated.

@description('Identity name.')
param name string

@description('Azure region of the identity.')
param location string

@description('Tags applied to every resource.')
param tags object

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output name string = identity.name
output principalId string = identity.properties.principalId
output clientId string = identity.properties.clientId
