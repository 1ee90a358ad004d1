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
        var work = new Option<string?>("--work") { Description = "Work folder for task state and checkpoints (default: ./fedtune-agent-work)." };
        var device = new Option<string?>("--device") { Description = "cpu, cuda or auto." };
        var command = new Command("agent", "Run the hospital agent in the foreground: poll Blob Storage for round tasks, train locally, upload only the adapter.")
        {
            settings, hospital, connection, endpoint, data, model, work, device,
        };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(async (parse, cancellationToken) =>
        {
            var args = new List<string>();
            void Add(string key, string? value)
            {
                if (!string.IsNullOrWhiteSpace(value))
                {
                    args.Add("--" + key);
                    args.Add(value);
                }
            }

            Add("settings", parse.GetValue(settings));
            Add("HospitalId", parse.GetValue(hospital));
            var connectionString = parse.GetValue(connection) ?? Environment.GetEnvironmentVariable("FEDTUNE_STORAGE");
            if (!string.IsNullOrWhiteSpace(connectionString))
            {
                Add("Storage:Mode", "ConnectionString");
                Add("Storage:ConnectionString", connectionString);
            }
            else if (parse.GetValue(endpoint) is { } url)
            {
                Add("Storage:Mode", "DefaultAzureCredential");
                Add("Storage:Endpoint", url);
            }

            var files = parse.GetValue(data) ?? [];
            for (int i = 0; i < files.Length; i++) Add($"Data:Paths:{i}", Path.GetFullPath(files[i]));
            Add("ModelPath", parse.GetValue(model) is { } m ? Path.GetFullPath(m) : null);
            Add("WorkPath", Path.GetFullPath(parse.GetValue(work) ?? "fedtune-agent-work"));
            Add("Device", parse.GetValue(device));
            args.AddRange(parse.UnmatchedTokens);

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
