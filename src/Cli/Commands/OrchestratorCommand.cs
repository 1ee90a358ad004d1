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
            int apiPort = parse.GetValue(port);
            if (apiPort != 0 && !PortIsFree(apiPort))
            {
                await Console.Error.WriteLineAsync(
                    $"fedtune orchestrator: port {apiPort} on 127.0.0.1 is already in use (another orchestrator?). Fix: stop that process, or choose another --port (0 picks a free one).")
                    .ConfigureAwait(false);
                return 1;
            }
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
                    new LocalOrchestratorOptions { ApiPort = apiPort, TaskHubName = parse.GetValue(hub)! }, cancellationToken).ConfigureAwait(false);
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
            catch (IOException e)
            {
                var details = CliErrorLog.Write("orchestrator", e);
                await Console.Error.WriteLineAsync($"fedtune orchestrator: {FirstLine(e.Message)}{details}" + Environment.NewLine +
                    "Fix: if a port is in use, stop the other process or choose another --port; if storage is unreachable, check --storage / FEDTUNE_STORAGE.")
                    .ConfigureAwait(false);
                return 1;
            }
            catch (Exception e) when (e is AggregateException or Azure.RequestFailedException or HttpRequestException)
            {
                var details = CliErrorLog.Write("orchestrator", e);
                await Console.Error.WriteLineAsync($"fedtune orchestrator: storage is unreachable ({FirstLine(e.InnerException?.Message ?? e.Message)}){details}" +
                    Environment.NewLine + "Fix: check that the storage in --storage / FEDTUNE_STORAGE is up, then start the orchestrator again (runs resume where they stopped).")
                    .ConfigureAwait(false);
                return 1;
            }
            finally
            {
                azurite?.Dispose();
            }
        });
        return command;
    }

    private static bool PortIsFree(int port)
    {
        try
        {
            var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, port);
            listener.Start();
            listener.Stop();
            return true;
        }
        catch (System.Net.Sockets.SocketException)
        {
            return false;
        }
    }

    private static string FirstLine(string text) => text.Split('\n', 2)[0].Trim();
}
