using System.CommandLine;
using FedTune.Cli.Simulation;
using FedTune.Core.Storage;
using FedTune.Orchestration.Local;

namespace FedTune.Cli.Commands;

/// <summary>`fedtune orchestrator`: the federation orchestrations and operator HTTP API on Azurite (or --storage), in the foreground.</summary>
internal static class OrchestratorCommand
{
    public static Command Create()
    {
        var storage = new Option<string?>("--storage") { Description = "Storage connection string (default: FEDTUNE_STORAGE, else a private Azurite started here)." };
        var port = new Option<int>("--port") { Description = "Port of the operator API on 127.0.0.1 (default 0: a free port).", DefaultValueFactory = _ => 0 };
        var hub = new Option<string>("--task-hub") { Description = "Durable task hub name (letters and digits).", DefaultValueFactory = _ => "fedtune" };
        var azuriteData = new Option<string?>("--azurite-data") { Description = "Data folder of the private Azurite (default: a temporary folder, deleted at exit)." };
        var command = new Command("orchestrator", "Run the federation orchestrator locally (Durable Task on Azurite, no Functions Core Tools) and print its API URL; Ctrl+C stops it.")
        {
            storage, port, hub, azuriteData,
        };
        command.SetAction(async (parse, commandToken) =>
        {
            using var signals = new ShutdownSignals(commandToken);
            var cancellationToken = signals.Token;
            AzuriteProcess? azurite = null;
            try
            {
                var connection = parse.GetValue(storage) ?? Environment.GetEnvironmentVariable("FEDTUNE_STORAGE");
                if (string.IsNullOrWhiteSpace(connection))
                {
                    azurite = await AzuriteProcess.StartAsync(parse.GetValue(azuriteData), cancellationToken: cancellationToken).ConfigureAwait(false);
                    connection = azurite.ConnectionString;
                    Console.WriteLine($"Azurite: blob http://127.0.0.1:{azurite.BlobPort}, data in {azurite.DataDirectory}");
                    Console.WriteLine("Storage connection string (for agents): set FEDTUNE_STORAGE to");
                    Console.WriteLine("  " + connection);
                }
                await using var host = await LocalOrchestratorHost.StartAsync(connection,
                    new LocalOrchestratorOptions { ApiPort = parse.GetValue(port), TaskHubName = parse.GetValue(hub)! }, cancellationToken).ConfigureAwait(false);
                Console.WriteLine($"Orchestrator API: {host.ApiBaseUrl}");
                Console.WriteLine($"Dashboard:        {new Uri(host.ApiBaseUrl!, FedTune.Orchestration.Api.OperatorRoutes.Dashboard)}");
                Console.WriteLine($"Start a run:      curl -X POST --data-binary @config.yaml {host.ApiBaseUrl}runs");
                Console.WriteLine("Press Ctrl+C to stop.");
                try
                {
                    await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    Console.WriteLine("Stopping the orchestrator (runs resume when it starts again on the same storage).");
                }
                return 0;
            }
            catch (InvalidOperationException e)
            {
                await Console.Error.WriteLineAsync("fedtune orchestrator: " + e.Message).ConfigureAwait(false);
                return 1;
            }
            catch (ArgumentException e)
            {
                await Console.Error.WriteLineAsync("fedtune orchestrator: " + e.Message).ConfigureAwait(false);
                return 2;
            }
            finally
            {
                azurite?.Dispose();
            }
        });
        return command;
    }
}
