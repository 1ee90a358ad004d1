using System.CommandLine;
using FedTune.Cli.Simulation;
using FedTune.Core.Data;

namespace FedTune.Cli.Commands;

/// <summary>The options `simulate`, `centralized` and `local-only` share (same splits, same steps), and their binding.</summary>
internal sealed class SimulationCommandOptions
{
    public Argument<string?> Config { get; } = new("config")
    {
        Description = "A FedTune YAML (the seed configuration, optionally with a federation: section). Default: built-in settings for a 2-core CPU.",
        Arity = ArgumentArity.ZeroOrOne,
    };

    public Option<string?> Model { get; } = new("--model") { Description = "A local Hugging Face model folder (GPT-NeoX) to fine-tune (default: the config's model if present locally, else the embedded default base model)." };
    public Option<int?> Hospitals { get; } = new("--hospitals") { Description = $"Number of hospitals (default {SimulationDefaults.Hospitals}, or the config's federation.hospitals)." };
    public Option<int?> Rounds { get; } = new("--rounds") { Description = $"Federated rounds (default {SimulationDefaults.Rounds}, or federation.rounds)." };
    public Option<int?> MaxSteps { get; } = new("--max-steps") { Description = $"Optimizer steps per hospital per round (default {SimulationDefaults.MaxSteps}, or training_arguments.max_steps)." };
    public Option<int?> SeqLength { get; } = new("--seq-length") { Description = $"Tokens per example (default {SimulationDefaults.SeqLength}, or train.seq_length)." };
    public Option<int?> BatchSize { get; } = new("--batch-size") { Description = $"Examples per optimizer step (default {SimulationDefaults.BatchSize})." };
    public Option<double?> LearningRate { get; } = new("--learning-rate") { Description = $"Peak learning rate (default from the config, else {SimulationDefaults.LearningRate})." };
    public Option<bool> NonIid { get; } = new("--non-iid") { Description = "Split hospitals by topic (the same as --partition topic)." };
    public Option<HospitalPartitioning?> Partition { get; } = new("--partition")
    {
        Description = "How hospitals' data differs: BySpecialty (default: an oncology centre, a cardiovascular centre, an infectious-disease clinic), ByTopic, DirichletByTopic or Iid.",
    };
    public Option<string?> Data { get; } = new("--data") { Description = "An Alpaca JSON/JSONL file to split (default: ../shared/data/medical-meadow/wikidoc_patient_information.json)." };
    public Option<int?> EvalExamples { get; } = new("--eval-examples") { Description = $"Held-out evaluation records (default {SimulationDefaults.EvalExamples})." };
    public Option<int?> RecordsPerHospital { get; } = new("--records-per-hospital") { Description = $"At most this many private records per hospital (default {SimulationDefaults.RecordsPerHospital}; 0 = all of its share)." };
    public Option<int?> Seed { get; } = new("--seed") { Description = "Seed for the split, sampling and training." };
    public Option<string?> Out { get; } = new("--out") { Description = "The run folder (default runs/<command> in the current folder: runs/simulate, runs/centralized, runs/local-only; the same command again resumes it)." };
    public Option<string?> Storage { get; } = new("--storage") { Description = "A storage connection string (default: FEDTUNE_STORAGE, else a private Azurite)." };

    public IEnumerable<Symbol> All =>
        [Config, Model, Hospitals, Rounds, MaxSteps, SeqLength, BatchSize, LearningRate, NonIid, Partition, Data, EvalExamples, RecordsPerHospital, Seed, Out, Storage];

    public void AddTo(Command command)
    {
        command.Add(Config);
        foreach (var option in new Option[] { Model, Hospitals, Rounds, MaxSteps, SeqLength, BatchSize, LearningRate, NonIid, Partition, Data, EvalExamples, RecordsPerHospital, Seed, Out, Storage })
        {
            command.Add(option);
        }
    }

    public SimulationOverrides Read(ParseResult parse) => new()
    {
        ConfigPath = parse.GetValue(Config),
        ModelPath = parse.GetValue(Model),
        Hospitals = parse.GetValue(Hospitals),
        Rounds = parse.GetValue(Rounds),
        MaxSteps = parse.GetValue(MaxSteps),
        SeqLength = parse.GetValue(SeqLength),
        BatchSize = parse.GetValue(BatchSize),
        LearningRate = parse.GetValue(LearningRate),
        NonIid = parse.GetValue(NonIid),
        Partitioning = parse.GetValue(Partition),
        DataPath = parse.GetValue(Data),
        EvalExamples = parse.GetValue(EvalExamples),
        RecordsPerHospital = parse.GetValue(RecordsPerHospital),
        Seed = parse.GetValue(Seed),
        OutputDirectory = parse.GetValue(Out),
        StorageConnectionString = parse.GetValue(Storage),
    };
}
