using FedTune.ClientAgent.Hosting;
using FedTune.Core.Processes;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

NativeHeap.Configure();
try
{
    using var host = AgentHost.CreateBuilder(args).Build();
    await host.RunAsync().ConfigureAwait(false);
    return Environment.ExitCode;
}
catch (OptionsValidationException e)
{
    await Console.Error.WriteLineAsync("The agent's settings are invalid:" + Environment.NewLine + " - " +
        string.Join(Environment.NewLine + " - ", e.Failures)).ConfigureAwait(false);
    return 2;
}
catch (FileNotFoundException e) when (e.FileName?.EndsWith(".json", StringComparison.OrdinalIgnoreCase) == true)
{
    await Console.Error.WriteLineAsync($"The settings file '{e.FileName}' does not exist. Fix: check --settings or FEDTUNE_AGENT_SETTINGS.").ConfigureAwait(false);
    return 2;
}
