using System.CommandLine;
using FedTune.ClientAgent.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace FedTune.Cli.Commands;

/// <summary>
/// `fedtune agent`: runs the hospital agent (the same worker as the service) in the foreground until Ctrl+C.
/// Named options map onto the agent's settings; anything after them (e.g. <c>--Polling:MinInterval 00:00:02</c>) is
/// passed through as a configuration override.
/// </summary>
internal static class AgentCommand
{
    public static Command Create()
    {
        var settings = new Option<string?>("--settings") { Description = "A JSON settings file (same keys as the service's appsettings.json)." };
        var hospital = new Option<string?>("--hospital-id") { Description = "This hospital's id (its container is hospital-<id>)." };
        var connection = new Option<string?>("--connection-string")
        {
            Description = "Storage connection string for local runs (default: FEDTUNE_STORAGE). Without it the settings' Storage:Mode is used.",
        };
        var endpoint = new Option<string?>("--endpoint") { Description = "Blob endpoint (https://<account>.blob.core.windows.net) for Entra ID sign-in (DefaultAzureCredential)." };
        var data = new Option<string[]>("--data") { Description = "Private data file(s): Alpaca JSON, JSONL or CSV.", AllowMultipleArgumentsPerToken = true };
        var model = new Option<string?>("--model") { Description = "Base model folder (HF layout with tokenizer.json)." };
        var work = new Option<string?>("--work") { Description = "Work folder for task state and checkpoints (default: the settings file's WorkPath, else ./fedtune-agent-work)." };
        var device = new Option<string?>("--device") { Description = "cpu, cuda or auto." };
        var command = new Command("agent", "Run the hospital agent in the foreground: poll Blob Storage for round tasks, train locally, upload only the adapter.")
        {
            settings, hospital, connection, endpoint, data, model, work, device,
        };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(async (parse, cancellationToken) =>
        {
            AgentFlagMerge merge;
            try
            {
                merge = new AgentFlagMerge(parse.GetValue(settings));
                merge.Flag("--hospital-id", "HospitalId", parse.GetValue(hospital));
                var connectionString = parse.GetValue(connection);
                if (string.IsNullOrWhiteSpace(connectionString) && !merge.FileSets("Storage:Mode") && !merge.FileSets("Storage:ConnectionString"))
                {
                    connectionString = Environment.GetEnvironmentVariable("FEDTUNE_STORAGE");
                }
                if (!string.IsNullOrWhiteSpace(connectionString))
                {
                    merge.Flag("--connection-string", "Storage:Mode", "ConnectionString");
                    merge.Flag("--connection-string", "Storage:ConnectionString", connectionString);
                }
                else if (parse.GetValue(endpoint) is { } url)
                {
                    merge.Flag("--endpoint", "Storage:Mode", "DefaultAzureCredential");
                    merge.Flag("--endpoint", "Storage:Endpoint", url);
                }

                var files = parse.GetValue(data) ?? [];
                for (int i = 0; i < files.Length; i++) merge.Flag("--data", $"Data:Paths:{i}", Path.GetFullPath(files[i]), isPath: true);
                merge.Flag("--model", "ModelPath", parse.GetValue(model) is { } m ? Path.GetFullPath(m) : null, isPath: true);
                merge.Flag("--work", "WorkPath", parse.GetValue(work) is { } w ? Path.GetFullPath(w) : null, isPath: true);
                merge.Default("WorkPath", Path.GetFullPath("fedtune-agent-work"));
                merge.Flag("--device", "Device", parse.GetValue(device));
                merge.Raw(parse.UnmatchedTokens);
            }
            catch (ArgumentException e)
            {
                await Console.Error.WriteLineAsync("fedtune agent: " + e.Message).ConfigureAwait(false);
                return 2;
            }
            var args = merge.Arguments;

            try
            {
                using var host = AgentHost.CreateBuilder([.. args]).Build();
                await host.RunAsync(cancellationToken).ConfigureAwait(false);
                return Environment.ExitCode;
            }
            catch (OptionsValidationException e)
            {
                await Console.Error.WriteLineAsync("The agent's settings are invalid:" + Environment.NewLine + " - " +
                    string.Join(Environment.NewLine + " - ", e.Failures)).ConfigureAwait(false);
                return 2;
            }
        });
        return command;
    }
}
