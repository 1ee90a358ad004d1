using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using FedTune.Cli.Simulation;
using FedTune.Training.Evaluation;

namespace FedTune.Cli.Commands;

/// <summary>`fedtune eval`: held-out mean NLL and perplexity of a model (optionally with an adapter) on a data file, as JSON.</summary>
internal static class EvalCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Hugging Face model folder (config.json, model.safetensors, tokenizer.json).", Required = true };
        var adapter = new Option<string?>("--adapter") { Description = "A LoRA adapter: PEFT folder or FedTune adapter file." };
        var data = new Option<string>("--data") { Description = "Alpaca JSON/JSONL records, or JSONL lines {\"input_ids\": [...]}.", Required = true };
        var seq = new Option<int>("--seq-length") { Description = "Tokens per record (text records only).", DefaultValueFactory = _ => 512 };
        var command = new Command("eval", "Print {\"tokens\", \"mean_nll\", \"perplexity\"} of a model (plus adapter) on a data file (response tokens of Alpaca records).")
        {
            model, adapter, data, seq,
        };
        command.SetAction((parse, cancellationToken) =>
        {
            try
            {
                using var session = LanguageModelSession.Load(parse.GetValue(model)!, parse.GetValue(seq));
                if (parse.GetValue(adapter) is { } a) session.UseAdapter(LanguageModelSession.ReadAdapter(a));
                var dataFile = parse.GetValue(data)!;
                if (!File.Exists(dataFile))
                {
                    throw new FileNotFoundException($"--data: '{dataFile}' does not exist. Fix: give an Alpaca JSON/JSONL file or JSONL of {{\"input_ids\": [...]}}.", dataFile);
                }
                var examples = EvaluationDataset.Load(dataFile, session.Examples);
                var eval = session.Evaluate(examples, cancellationToken);
                Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, double>
                {
                    ["tokens"] = eval.Tokens,
                    ["mean_nll"] = eval.MeanNll,
                    ["perplexity"] = eval.Perplexity,
                }));
                return Task.FromResult(0);
            }
            catch (Exception e) when (e is IOException or InvalidDataException or ArgumentException or JsonException
                                          or FedTune.Core.Adapters.AdapterFormatException)
            {
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"fedtune eval: {e.Message}"));
                return Task.FromResult(1);
            }
        });
        return command;
    }
}
