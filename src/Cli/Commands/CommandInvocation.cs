using System.CommandLine;

namespace FedTune.Cli.Commands;

/// <summary>
/// Runs the parsed command so that no error reaches the user as a stack trace: an exception no command handled is
/// reported in two lines (the command, the first line of its message, where the details went, and what to do) and
/// written whole to <see cref="CliErrorLog"/>. Ctrl+C ends with 130 and one line.
/// </summary>
internal static class CommandInvocation
{
    /// <summary>Longest message quoted on the error line.</summary>
    private const int MaxMessageLength = 400;

    public static Task<int> InvokeAsync(ParseResult parse) => InvokeAsync(parse, Console.Error, CliErrorLog.PathName);

    /// <summary>Runs the command; unhandled errors go to <paramref name="error"/> in two lines and whole to <paramref name="logPath"/>.</summary>
    public static async Task<int> InvokeAsync(ParseResult parse, TextWriter error, string logPath)
    {
        ArgumentNullException.ThrowIfNull(parse);
        ArgumentNullException.ThrowIfNull(error);
        var command = CommandPath(parse);
        try
        {
            return await parse.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false }).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            await error.WriteLineAsync($"{Prefix(command)}: stopped.").ConfigureAwait(false);
            return 130;
        }
#pragma warning disable CA1031 // The last line of defence: whatever a command did not handle is reported, never thrown at the user.
        catch (Exception e)
#pragma warning restore CA1031
        {
            await error.WriteLineAsync(Describe(command, e, CliErrorLog.Write(command, e, logPath))).ConfigureAwait(false);
            return 1;
        }
    }

    /// <summary>"fedtune CMD: MESSAGE (details: LOG)" and the fix, for an exception a command did not handle.</summary>
    public static string Describe(string command, Exception error, string details)
    {
        ArgumentNullException.ThrowIfNull(error);
        var inner = error is AggregateException { InnerExceptions.Count: 1 } aggregate ? aggregate.InnerExceptions[0] : error;
        var line = inner.Message.Split('\n', 2)[0].TrimEnd('\r');
        if (line.Length > MaxMessageLength) line = string.Concat(line.AsSpan(0, MaxMessageLength), "...");
        return $"{Prefix(command)}: {line}{details}" + Environment.NewLine +
               $"Fix: correct the cause named above and run the command again (the log has the stack trace); '{Prefix(command)} --help' lists the options.";
    }

    private static string Prefix(string command) => command.Length == 0 ? "fedtune" : "fedtune " + command;

    /// <summary>"bench orchestrator" for <c>fedtune bench orchestrator ...</c>.</summary>
    private static string CommandPath(ParseResult parse)
    {
        var names = new List<string>();
        for (var result = parse.CommandResult; result.Parent is System.CommandLine.Parsing.CommandResult parent; result = parent) names.Insert(0, result.Command.Name);
        return names.Count == 0 ? "" : string.Join(' ', names);
    }
}
