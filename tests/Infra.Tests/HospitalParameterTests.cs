using FedTune.Infra.Tests.Support;

namespace FedTune.Infra.Tests;

/// <summary>The hospitals parameter is typed, so a bad entry fails when the parameters file is compiled, before anything is deployed.</summary>
public sealed class HospitalParameterTests
{
    [Fact]
    public void Overlong_hospital_name_and_malformed_principal_id_are_rejected_with_their_line()
    {
        using var workspace = InfraWorkspace.CopyOfRepositoryInfra();
        workspace.WriteFile("bad.bicepparam", """
            using 'main.bicep'

            param hospitals = [
              {
                name: 'a-name-that-is-far-too-long-to-fit-in-a-storage-container-name'
                principalId: 'not-a-guid'
                principalType: 'ServicePrincipal'
              }
            ]
            """);

        var result = BicepCli.Run("build-params", workspace.PathOf("bad.bicepparam"), "--stdout");

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains(result.Diagnostics, line => line.Contains("bad.bicepparam(5,", StringComparison.Ordinal)
                                                    && line.Contains("maximum allowable length is 54", StringComparison.Ordinal));
        Assert.Contains(result.Diagnostics, line => line.Contains("bad.bicepparam(6,", StringComparison.Ordinal)
                                                    && line.Contains("minimum allowable length is 36", StringComparison.Ordinal));
    }

    [Fact]
    public void Hospital_with_an_unknown_principal_type_is_rejected()
    {
        using var workspace = InfraWorkspace.CopyOfRepositoryInfra();
        workspace.WriteFile("bad.bicepparam", """
            using 'main.bicep'

            param hospitals = [
              {
                name: 'st-mary'
                principalId: '11111111-1111-1111-1111-111111111111'
                principalType: 'ManagedIdentity'
              }
            ]
            """);

        var result = BicepCli.Run("build-params", workspace.PathOf("bad.bicepparam"), "--stdout");

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains(result.Diagnostics, line => line.Contains("bad.bicepparam(7,", StringComparison.Ordinal));
    }
}
