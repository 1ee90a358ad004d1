namespace FedTune.Cli.Commands;

/// <summary>
/// Where the CLI keeps the details of an error it reported in one or two lines: the full exception with its stack
/// trace, appended to <c>fedtune-errors.log</c> in the user's local data folder (FEDTUNE_ERROR_LOG overrides the path).
/// </summary>
internal static class CliErrorLog
{
    public static string PathName =>
        Environment.GetEnvironmentVariable("FEDTUNE_ERROR_LOG") is { Length: > 0 } custom ? custom
            : System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create),
                "fedtune", "fedtune-errors.log");

    /// <summary>Appends <paramref name="error"/> and returns " (details: PATH)" for the user's message, or "" when the log cannot be written.</summary>
    public static string Write(string command, Exception error) => Write(command, error, PathName);

    /// <summary>Appends <paramref name="error"/> to the log at <paramref name="path"/>; returns " (details: PATH)" or "".</summary>
    public static string Write(string command, Exception error, string path)
    {
        ArgumentNullException.ThrowIfNull(error);
        try
        {
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
            File.AppendAllText(path, FormattableString.Invariant($"{DateTimeOffset.UtcNow:O} fedtune {command} (pid {Environment.ProcessId}){Environment.NewLine}{error}{Environment.NewLine}{Environment.NewLine}"));
            return $" (details: {path})";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "";
        }
    }
}
