namespace FedTune.Infra.Tests.Policy;

/// <summary>A hospital as given in the parameters file.</summary>
public sealed record ExpectedHospital(string Name, string PrincipalId);

/// <summary>What the parameters file asked for, so the policy knows what the deployment must look like.</summary>
public sealed record ExpectedDeployment(
    IReadOnlyList<ExpectedHospital> Hospitals,
    string GlobalContainerName = "global",
    string HospitalContainerPrefix = "hospital-",
    string DotnetVersion = "10.0");
