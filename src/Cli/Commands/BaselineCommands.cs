using System.CommandLine;
using FedTune.Cli.Reporting;
using FedTune.Cli.Simulation;
using FedTune.Core.Configuration;

namespace FedTune.Cli.Commands;

/// <summary>`fedtune centralized` and `fedtune local-only`: the baselines on the same split and step budget as `fedtune simulate`.</summary>
internal static class BaselineCommands
{
    public static Command Centralized() => Create(BaselineArm.Centralized, "centralized",
        "Baseline: all hospitals' training records pooled in one place, trained for rounds x max_steps x hospitals steps " +
        "(the federation's total optimizer steps), scored on the same held-out split after each round's worth of steps.");

    public static Command LocalOnly() => Create(BaselineArm.LocalOnly, "local-only",
        "Baseline: each hospital alone on its own records for rounds x max_steps steps (its steps in the federation), scored on the same held-out split.");

    private static Command Create(BaselineArm arm, string name, string description)
    {
        var shared = new SimulationCommandOptions();
        var command = new Command(name, description);
        shared.AddTo(command);
        command.SetAction(async (parse, commandToken) =>
        {
            SimulationOptions options;
            try
            {
                options = SimulationOptionsBinder.Bind(shared.Read(parse));
            }
            catch (Exception e) when (e is ArgumentException or ConfigException)
            {
                await Console.Error.WriteLineAsync($"fedtune {name}: {e.Message}").ConfigureAwait(false);
                return 2;
            }
            using var signals = new ShutdownSignals(commandToken);
            var status = new SimulationStatus();
            var display = ProgressDisplay.Start(status, live: false);
            try
            {
                var report = await Task.Run(() => BaselineOnlyRunner.Run(options, arm, status, status.Say, signals.Token), signals.Token).ConfigureAwait(false);
                await display.DisposeAsync().ConfigureAwait(false);
                var folder = options.OutputDirectory ?? Path.Combine(Directory.GetCurrentDirectory(), "runs", name);
                Console.WriteLine(SimulateCommand.Summary(report, folder));
                return 0;
            }
            catch (OperationCanceledException)
            {
                await display.DisposeAsync().ConfigureAwait(false);
                await Console.Error.WriteLineAsync($"fedtune {name}: stopped.").ConfigureAwait(false);
                return 130;
            }
            catch (Exception e) when (e is InvalidOperationException or IOException or ArgumentException or ConfigException or InvalidDataException)
            {
                await display.DisposeAsync().ConfigureAwait(false);
                await Console.Error.WriteLineAsync($"fedtune {name}: {e.Message}").ConfigureAwait(false);
                return 1;
            }
        });
        return command;
    }
}
