// Uploads as events: the storage account's BlobCreated events for hospitals' manifests and failed-task markers go
// through an Event Grid system topic into the queue the orchestrator's UploadEvents function is triggered by, which
// raises the round's UploadArrived notice (the round's timer poll is only a slow safety net). Event Grid delivers
// with the system topic's own managed identity (no keys), which may only send messages to that queue.

@description('Storage account whose blob events are watched (the deployment\'s one account).')
param storageAccountName string

@description('Azure region of the system topic (the storage account\'s).')
param location string

@description('Tags applied to every resource.')
param tags object

@description('Prefix of the hospitals\' container names; only blobs in those containers raise events.')
param hospitalContainerPrefix string

@description('Queue the events are delivered to; the Functions app\'s UploadEvents trigger reads it.')
param queueName string = 'upload-events'

var storageQueueDataMessageSender = 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a'

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName

  resource queueService 'queueServices' = {
    name: 'default'

    resource queue 'queues' = {
      name: queueName
    }
  }
}

resource topic 'Microsoft.EventGrid/systemTopics@2022-06-15' = {
  name: 'evgt-${storageAccountName}'
  location: location
  tags: tags
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    source: account.id
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

resource topicSendsToQueue 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: account::queueService::queue
  name: guid(account::queueService::queue.id, topic.id, storageQueueDataMessageSender)
  properties: {
    principalId: topic.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageQueueDataMessageSender)
  }
}

resource uploads 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2022-06-15' = {
  parent: topic
  name: 'hospital-uploads'
  properties: {
    eventDeliverySchema: 'EventGridSchema'
    filter: {
      includedEventTypes: [
        'Microsoft.Storage.BlobCreated'
      ]
      subjectBeginsWith: '/blobServices/default/containers/${hospitalContainerPrefix}'
      advancedFilters: [
        {
          operatorType: 'StringEndsWith'
          key: 'subject'
          values: [
            '/update/manifest.json'
            '/failed.json'
          ]
        }
      ]
    }
    deliveryWithResourceIdentity: {
      identity: {
        type: 'SystemAssigned'
      }
      destination: {
        endpointType: 'StorageQueue'
        properties: {
          resourceId: account.id
          queueName: queueName
          queueMessageTimeToLiveInSeconds: 86400
        }
      }
    }
    retryPolicy: {
      maxDeliveryAttempts: 30
      eventTimeToLiveInMinutes: 1440
    }
  }
  dependsOn: [
    topicSendsToQueue
  ]
}

output queueName string = account::queueService::queue.name
output systemTopicName string = topic.name
