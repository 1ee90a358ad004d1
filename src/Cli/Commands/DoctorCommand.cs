using System.CommandLine;
using FedTune.Cli.Doctor;
using FedTune.Core.Storage;

namespace FedTune.Cli.Commands;

/// <summary>`fedtune doctor`: checks .NET, TorchSharp, Azurite/storage and the data folder; exit code 1 when broken.</summary>
internal static class DoctorCommand
{
    public static Command Create()
    {
        var storage = new Option<string?>("--storage") { Description = "A storage connection string to check (default: FEDTUNE_STORAGE, else a private Azurite)." };
        var data = new Option<string?>("--data-dir") { Description = "The medical data folder (default: ../shared/data/medical-meadow beside the checkout, or FEDTUNE_DATA)." };
        var command = new Command("doctor", "Check this machine: .NET, TorchSharp native load (and CUDA), Azurite/storage, the data folder. Prints the fix for each failure.")
        {
            storage, data,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var options = new DoctorOptions
            {
                RepositoryRoot = RepositoryLayout.FindRoot(),
                StorageConnectionString = parse.GetValue(storage) ?? Environment.GetEnvironmentVariable("FEDTUNE_STORAGE"),
                DataDirectory = parse.GetValue(data),
            };
            var results = await DoctorRunner.RunAsync(options, loadTorch: true, cancellationToken).ConfigureAwait(false);
            DoctorRunner.Print(results, Console.Out);
            return results.All(r => r.Ok) ? 0 : 1;
        });
        return command;
    }
}
