namespace FedTune.Cli.Simulation;

/// <summary>
/// The exact command that resumes an interrupted simulation: this process's own `fedtune simulate ...` command line
/// (without --fresh, which would discard the run), or, when the runner is hosted elsewhere (tests), `fedtune simulate`
/// with the run folder and --resume.
/// </summary>
public static class ResumeCommand
{
    public static string For(SimulationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var args = Environment.GetCommandLineArgs();
        int simulate = Array.IndexOf(args, "simulate");
        if (simulate >= 0 && IsFedtune(args))
        {
            var kept = args.Skip(simulate + 1).Where(a => a is not "--fresh" and not "--resume").Select(Quote);
            return string.Join(' ', ["fedtune", "simulate", .. kept, "--resume"]);
        }
        return $"fedtune simulate --out {Quote(SimulationRunner.RunDirectory(options))} --resume (with the run's other options as before)";
    }

    private static bool IsFedtune(string[] args) =>
        args.Length > 0 && Path.GetFileNameWithoutExtension(args[0]).Equals("fedtune", StringComparison.OrdinalIgnoreCase);

    private static string Quote(string arg) =>
        arg.Length > 0 && arg.All(c => char.IsLetterOrDigit(c) || "-_./:=,@+".Contains(c, StringComparison.Ordinal)) ? arg : "'" + arg.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
