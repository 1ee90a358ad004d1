// Example parameters: copy to main.bicepparam (ignored by nothing: keep real principal ids out of
// public repositories if they matter to you), replace the principal ids with your hospitals' identities.
using 'main.bicep'

param baseName = 'fedtune'

param tags = {
  project: 'FedTune.Cloud'
}

param dotnetVersion = '10.0'

param globalContainerName = 'global'

param hospitalContainerPrefix = 'hospital-'

param hospitals = [
  {
    name: 'st-mary'
    principalId: '11111111-1111-1111-1111-111111111111'
    principalType: 'ServicePrincipal'
  }
  {
    name: 'city-general'
    principalId: '22222222-2222-2222-2222-222222222222'
    principalType: 'ServicePrincipal'
  }
]
