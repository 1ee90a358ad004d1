namespace FedTune.Cli.Doctor;

/// <summary>The outcome of one doctor check: what was found and, when broken, the exact fix.</summary>
public sealed record CheckResult(string Name, bool Ok, string Detail, string? Fix = null)
{
    public static CheckResult Pass(string name, string detail) => new(name, true, detail);

    public static CheckResult Fail(string name, string detail, string fix) => new(name, false, detail, fix);
}
