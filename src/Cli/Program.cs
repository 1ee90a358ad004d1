using System.CommandLine;
using FedTune.Cli.Commands;

var root = new RootCommand("fedtune: federated fine-tuning of LLMs on private data (FedTune.Cloud).")
{
    DoctorCommand.Create(),
    AgentCommand.Create(),
    PrivacyAuditCommand.Create(),
};
return await root.Parse(args).InvokeAsync().ConfigureAwait(false);
