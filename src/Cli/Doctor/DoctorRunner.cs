namespace FedTune.Cli.Doctor;

/// <summary>Runs every check in order and prints one line each, with the fix under each failure.</summary>
public static class DoctorRunner
{
    public static async Task<IReadOnlyList<CheckResult>> RunAsync(DoctorOptions options, bool loadTorch, CancellationToken cancellationToken)
    {
        var results = new List<CheckResult>
        {
            DoctorChecks.DotNet(),
            DoctorChecks.TorchSharpLibrary(options),
        };
        if (loadTorch && results[^1].Ok) results.Add(DoctorChecks.TorchSharpRuns());
        results.Add(DoctorChecks.Azurite(options));
        results.Add(await DoctorChecks.StorageAsync(options, cancellationToken).ConfigureAwait(false));
        results.Add(DoctorChecks.MedicalData(options));
        return results;
    }

    public static void Print(IReadOnlyList<CheckResult> results, TextWriter output)
    {
        foreach (var r in results)
        {
            output.WriteLine($"[{(r.Ok ? " ok " : "FAIL")}] {r.Name}: {r.Detail}");
            if (!r.Ok && r.Fix != null) output.WriteLine($"       fix: {r.Fix}");
        }
        int failed = results.Count(r => !r.Ok);
        output.WriteLine(failed == 0 ? "All checks passed." : $"{failed} check(s) failed.");
    }
}
