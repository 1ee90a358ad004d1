namespace FedTune.Orchestration.Local;

/// <summary>The foreground loop for <c>fedtune orchestrator</c>: start, report the API address, run until cancelled, stop cleanly.</summary>
public static class LocalOrchestratorRunner
{
    public static async Task RunAsync(string connectionString, LocalOrchestratorOptions options, TextWriter output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(output);
        await using var host = await LocalOrchestratorHost.StartAsync(connectionString, options, cancellationToken).ConfigureAwait(false);
        await output.WriteLineAsync($"FedTune orchestrator (task hub '{options?.TaskHubName ?? "fedtune"}') serving {host.ApiBaseUrl}; Ctrl+C stops it.")
            .ConfigureAwait(false);
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopping: fall through to a clean shutdown (worker before sidecar).
        }
        await host.StopAsync(CancellationToken.None).ConfigureAwait(false);
    }
}
