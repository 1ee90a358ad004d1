namespace FedTune.Cli.Simulation;

/// <summary>
/// Turns what stopped a simulation into the report's one-line failure message: the reason (storage errors in one
/// line, not the SDK's retry dump), the exact command that resumes the run, and where the full details (stack trace)
/// were written (the run folder's errors.log).
/// </summary>
public static class RunFailure
{
    public const string LogFile = "errors.log";

    public static string Describe(Exception error, RunFolder folder, SimulationOptions options)
    {
        ArgumentNullException.ThrowIfNull(error);
        ArgumentNullException.ThrowIfNull(folder);
        var reason = error switch
        {
            StorageUnavailableException => error.Message,
            _ when StorageFailure.IsOutage(error) => "storage is unreachable (" + StorageFailure.Describe(error) + ")",
            _ => error.Message.Split('\n', 2)[0].Trim(),
        };
        var log = Path.Combine(folder.Path, LogFile);
        string details;
        try
        {
            Directory.CreateDirectory(folder.Path);
            File.AppendAllText(log, FormattableString.Invariant($"{DateTimeOffset.UtcNow:O}{Environment.NewLine}{error}{Environment.NewLine}{Environment.NewLine}"));
            details = $" Details: {log}";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            details = "";
        }
        return $"{reason.TrimEnd('.')}. Fix the cause, then resume with: {ResumeCommand.For(options)}.{details}";
    }
}
