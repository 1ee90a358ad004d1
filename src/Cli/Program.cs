using System.CommandLine;
using FedTune.Cli.Commands;
using FedTune.Core.Processes;

// libtorch's large blocks mmapped and given back (docs/training-trainer.md, 'Memory').
NativeHeap.Configure();

var root = new RootCommand("fedtune: federated fine-tuning of LLMs on private data (FedTune.Cloud).")
{
    DoctorCommand.Create(),
    SimulateCommand.Create(),
    BaselineCommands.Centralized(),
    BaselineCommands.LocalOnly(),
    EvalCommand.Create(),
    GenerateCommand.Create(),
    BaseCommand.Create(),
    OrchestratorCommand.Create(),
    BenchCommand.Create(),
    AgentCommand.Create(),
    PrivacyAuditCommand.Create(),
    ReportCommand.Create(),
};
return await CommandInvocation.InvokeAsync(root.Parse(args)).ConfigureAwait(false);
