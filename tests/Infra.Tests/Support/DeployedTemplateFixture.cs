using FedTune.Infra.Tests.Policy;

namespace FedTune.Infra.Tests.Support;

/// <summary>
/// Compiles infra/main.bicep once and evaluates it once for a three-hospital parameters file, shared by
/// the tests that read the result.
/// </summary>
public sealed class DeployedTemplateFixture : IDisposable
{
    public static readonly ExpectedDeployment Expected = new(
    [
        new ExpectedHospital("st-mary", "11111111-1111-1111-1111-111111111111"),
        new ExpectedHospital("city-general", "22222222-2222-2222-2222-222222222222"),
        new ExpectedHospital("north-valley-clinic-and-research-hospital-of-the-42nd", "33333333-3333-3333-3333-333333333333"),
    ]);

    private readonly InfraWorkspace _workspace;

    public DeployedTemplateFixture()
    {
        _workspace = InfraWorkspace.CopyOfRepositoryInfra();
        Build = _workspace.Build();
        _workspace.WriteFile("three-hospitals.bicepparam", ParametersFor(Expected));
        Snapshot = _workspace.Snapshot("three-hospitals.bicepparam");
    }

    public BicepResult Build { get; }

    public string CompiledTemplate => Build.StandardOutput;

    public DeploymentSnapshot Snapshot { get; }

    public static string ParametersFor(ExpectedDeployment expected)
    {
        var hospitals = string.Join('\n', expected.Hospitals.Select(hospital => $$"""
              {
                name: '{{hospital.Name}}'
                principalId: '{{hospital.PrincipalId}}'
                principalType: 'ServicePrincipal'
              }
            """));
        return $"""
            using 'main.bicep'

            param globalContainerName = '{expected.GlobalContainerName}'
            param hospitalContainerPrefix = '{expected.HospitalContainerPrefix}'
            param dotnetVersion = '{expected.DotnetVersion}'
            param hospitals = [
            {hospitals}
            ]
            """;
    }

    public void Dispose() => _workspace.Dispose();
}
