namespace FedTune.Infra.Tests.Policy;

/// <summary>One broken rule: which rule and what exactly is wrong.</summary>
public sealed record PolicyViolation(string Rule, string Detail)
{
    public override string ToString() => $"[{Rule}] {Detail}";
}
