using System.CommandLine;
using FedTune.Cli.Simulation;

namespace FedTune.Cli.Commands;

/// <summary>`fedtune base create`: build (or find cached) the embedded default base model.</summary>
internal static class BaseCommand
{
    public static Command Create()
    {
        var output = new Option<string?>("--out") { Description = "Model folder (default: the per-user cache, where `fedtune simulate` looks)." };
        var minutes = new Option<double>("--minutes") { Description = "Pretraining time budget in CPU minutes.", DefaultValueFactory = _ => 4 };
        var seed = new Option<int>("--seed") { Description = "Seed (also picks the public split it pretrains on).", DefaultValueFactory = _ => SimulationDefaults.Seed };
        var data = new Option<string?>("--data") { Description = "Alpaca JSON/JSONL file whose public split is pretrained on (default: the shared medical data)." };
        var create = new Command("create", "Build the small GPT-NeoX default base model, pretrained a few CPU minutes on the public split (disjoint from every hospital's and the evaluation split); cached.")
        {
            output, minutes, seed, data,
        };
        create.SetAction((parse, cancellationToken) =>
        {
            try
            {
                var file = SimulationData.ResolveDataFile(parse.GetValue(data));
                double m = parse.GetValue(minutes);
                if (m is <= 0 or > 600) throw new ArgumentException("--minutes must be above 0 and at most 600.");
                var info = EmbeddedBaseModelSource.Ensure(file, parse.GetValue(seed), Console.WriteLine, cancellationToken,
                    parse.GetValue(output) is { } o ? Path.GetFullPath(o) : null, TimeSpan.FromMinutes(m));
                Console.WriteLine(info.Path);
                return Task.FromResult(0);
            }
            catch (Exception e) when (e is IOException or ArgumentException or InvalidDataException)
            {
                Console.Error.WriteLine("fedtune base create: " + e.Message);
                return Task.FromResult(1);
            }
        });
        return new Command("base", "The embedded default base model.") { create };
    }
}
