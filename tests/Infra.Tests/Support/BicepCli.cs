using System.Diagnostics;
using System.Reflection;

namespace FedTune.Infra.Tests.Support;

/// <summary>Output of one Bicep CLI invocation.</summary>
public sealed record BicepResult(int ExitCode, string StandardOutput, string StandardError)
{
    /// <summary>Diagnostic lines (errors, warnings, infos) the compiler or linter printed.</summary>
    public IReadOnlyList<string> Diagnostics =>
        StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(line => line.Contains(" : Error ", StringComparison.Ordinal)
                           || line.Contains(" : Warning ", StringComparison.Ordinal)
                           || line.Contains(" : Info ", StringComparison.Ordinal))
            .ToList();

    public override string ToString() => $"exit {ExitCode}\nstdout:\n{StandardOutput}\nstderr:\n{StandardError}";
}

/// <summary>
/// Runs the Bicep compiler restored from the Azure.Bicep.CommandLine.linux-x64 NuGet package
/// (path baked into the test assembly at build time; BICEP_PATH overrides it).
/// </summary>
public static class BicepCli
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    public static string ExecutablePath
    {
        get
        {
            var overridePath = Environment.GetEnvironmentVariable("BICEP_PATH");
            var path = string.IsNullOrWhiteSpace(overridePath) ? AssemblyMetadata("BicepExecutable") : overridePath;
            if (!File.Exists(path))
            {
                throw new FileNotFoundException(
                    $"The Bicep CLI was not found at '{path}'. It comes from the Azure.Bicep.CommandLine.linux-x64 package " +
                    "restored by tests/Infra.Tests (run 'dotnet restore tests/Infra.Tests'); on other platforms install Bicep " +
                    "and set BICEP_PATH to the executable.", path);
            }

            return path;
        }
    }

    public static BicepResult Run(params string[] arguments)
    {
        var start = new ProcessStartInfo(ExecutablePath)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // The Bicep CLI is a .NET app; without ICU on the machine it must run in invariant globalization mode.
        start.Environment["DOTNET_SYSTEM_GLOBALIZATION_INVARIANT"] = "1";

        using var process = Process.Start(start)
            ?? throw new InvalidOperationException($"Could not start the Bicep CLI at '{start.FileName}'.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(Timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"bicep {string.Join(' ', arguments)} did not finish within {Timeout}.");
        }

        return new BicepResult(process.ExitCode, stdout.GetAwaiter().GetResult(), stderr.GetAwaiter().GetResult());
    }

    internal static string AssemblyMetadata(string key) =>
        typeof(BicepCli).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .SingleOrDefault(attribute => attribute.Key == key)?.Value
        ?? throw new InvalidOperationException($"The test assembly carries no '{key}' metadata; rebuild tests/Infra.Tests.");
}
