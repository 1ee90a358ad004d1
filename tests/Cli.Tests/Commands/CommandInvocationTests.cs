using System.CommandLine;
using FedTune.Cli.Commands;
using FedTune.TestSupport;
using Xunit;

namespace FedTune.Cli.Tests.Commands;

/// <summary>Whatever a command did not handle reaches the user as two lines (cause, log, fix), never as a stack trace.</summary>
public sealed class CommandInvocationTests : IDisposable
{
    private readonly TempDirectory _dir = new("fedtune-invocation");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task An_unhandled_error_is_two_lines_naming_the_command_the_cause_and_the_log_that_holds_the_stack_trace()
    {
        var failing = new Command("orchestrator", "throws");
        failing.SetAction((_, _) => Task.FromException<int>(new InvalidDataException("the run ended failed: round 1 got 0 upload(s)\nsecond line of detail")));
        var root = new RootCommand("test") { new Command("bench") { failing } };
        var log = _dir.File("errors.log");
        var error = new StringWriter();

        var code = await CommandInvocation.InvokeAsync(root.Parse(["bench", "orchestrator"]), error, log);

        Assert.Equal(1, code);
        var lines = error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.StartsWith("fedtune bench orchestrator: the run ended failed: round 1 got 0 upload(s) (details: " + log + ")", lines[0], StringComparison.Ordinal);
        Assert.StartsWith("Fix:", lines[1], StringComparison.Ordinal);
        Assert.DoesNotContain(" at ", error.ToString(), StringComparison.Ordinal);
        var logged = await File.ReadAllTextAsync(log);
        Assert.Contains("second line of detail", logged, StringComparison.Ordinal);
        Assert.Contains(" at ", logged, StringComparison.Ordinal);
    }
}
