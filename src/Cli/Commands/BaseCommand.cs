using System.CommandLine;
using FedTune.Cli.Simulation;

namespace FedTune.Cli.Commands;

/// <summary>`fedtune base create`: build (or find cached) the embedded default base model.</summary>
internal static class BaseCommand
{
    public static Command Create()
    {
        var output = new Option<string?>("--out") { Description = "Model folder (default: the per-user cache, where `fedtune simulate` looks)." };
        var defaults = new FedTune.Training.BaseModel.EmbeddedBaseModelOptions();
        var steps = new Option<int>("--steps") { Description = "Pretraining optimizer steps (a fixed count keeps the model the same on every machine).", DefaultValueFactory = _ => defaults.MaxSteps };
        var minutes = new Option<double>("--minutes") { Description = "Safety cap on pretraining time in minutes (a run cut short by it is not the reproducible default).", DefaultValueFactory = _ => defaults.TimeBudget.TotalMinutes };
        var seed = new Option<int>("--seed") { Description = "Seed (the model's initialisation and batch order).", DefaultValueFactory = _ => SimulationDefaults.Seed };
        var data = new Option<string?>("--data") { Description = "Alpaca JSON/JSONL file whose general-medicine records are pretrained on (default: the shared medical data)." };
        var create = new Command("create", "Build the small GPT-NeoX default base model, pretrained a fixed number of steps (a few CPU minutes) on the general-medicine records only (no oncology, cardiovascular or infectious-disease topic: the hospitals' specialties; disjoint from every hospital's and the evaluation split); cached.")
        {
            output, steps, minutes, seed, data,
        };
        create.SetAction((parse, cancellationToken) =>
        {
            try
            {
                var file = SimulationData.ResolveDataFile(parse.GetValue(data));
                double m = parse.GetValue(minutes);
                if (m is <= 0 or > 600) throw new ArgumentException("--minutes must be above 0 and at most 600.");
                int n = parse.GetValue(steps);
                if (n is <= 0 or > 1_000_000) throw new ArgumentException("--steps must be between 1 and 1,000,000.");
                var info = EmbeddedBaseModelSource.Ensure(file, parse.GetValue(seed), Console.WriteLine, cancellationToken,
                    parse.GetValue(output) is { } o ? Path.GetFullPath(o) : null, TimeSpan.FromMinutes(m), n);
                Console.WriteLine(info.Path);
                return Task.FromResult(0);
            }
            catch (Exception e) when (e is IOException or ArgumentException or InvalidDataException)
            {
                Console.Error.WriteLine("fedtune base create: " + e.Message);
                return Task.FromResult(1);
            }
        });
        return new Command("base", "The embedded default base model, or a random model of another model's shape.") { create, Shaped() };
    }

    /// <summary>`fedtune base shaped --like DIR --out DIR`: random weights of the shape in DIR's config.json, with its tokenizer.json.</summary>
    private static Command Shaped()
    {
        var like = new Option<string>("--like") { Description = "Folder with the model's config.json and tokenizer.json (e.g. ../shared/models/pythia-70m).", Required = true };
        var output = new Option<string>("--out") { Description = "Model folder to write (config.json, model.safetensors, tokenizer.json).", Required = true };
        var layers = new Option<int?>("--layers") { Description = "Fewer transformer blocks than the config says (same widths and vocabulary)." };
        var seed = new Option<int>("--seed") { Description = "Seed of the random weights.", DefaultValueFactory = _ => 1234 };
        var shaped = new Command("shaped", "Write a model of another model's exact shape (its config.json and tokenizer.json) with random weights, to run and measure at the real size without its weights.")
        {
            like, output, layers, seed,
        };
        shaped.SetAction((parse, cancellationToken) =>
        {
            try
            {
                var folder = FedTune.Training.BaseModel.ShapedRandomModel.Write(Path.GetFullPath(parse.GetValue(like)!), Path.GetFullPath(parse.GetValue(output)!),
                    parse.GetValue(layers), parse.GetValue(seed));
                Console.WriteLine(folder);
                return Task.FromResult(0);
            }
            catch (Exception e) when (e is IOException or ArgumentException or InvalidDataException)
            {
                Console.Error.WriteLine("fedtune base shaped: " + e.Message);
                return Task.FromResult(1);
            }
        });
        return shaped;
    }
}
