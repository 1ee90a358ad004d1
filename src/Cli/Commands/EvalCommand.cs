using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using FedTune.Cli.Reporting;
using FedTune.Cli.Simulation;
using FedTune.Training.Lora;
using FedTune.Training.Modeling;
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
                var dataFile = parse.GetValue(data)!;
                if (!File.Exists(dataFile))
                {
                    throw new FileNotFoundException($"--data: '{dataFile}' does not exist. Fix: give an Alpaca JSON/JSONL file or JSONL of {{\"input_ids\": [...]}}.", dataFile);
                }
                var adapterPath = parse.GetValue(adapter);
                var eval = EvaluationDataset.IsPreTokenized(dataFile)
                    ? ScorePreTokenized(parse.GetValue(model)!, adapterPath, dataFile, cancellationToken)
                    : ScoreRecords(parse.GetValue(model)!, adapterPath, dataFile, parse.GetValue(seq), cancellationToken);
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

    /// <summary>Alpaca records: the session's tokenizer (tokenizer.json) and prompt template.</summary>
    private static EvalMetrics ScoreRecords(string modelFolder, string? adapter, string dataFile, int seqLength, CancellationToken cancellationToken)
    {
        using var session = LanguageModelSession.Load(modelFolder, seqLength);
        if (adapter is not null) session.UseAdapter(LanguageModelSession.ReadAdapter(adapter));
        return session.Evaluate(EvaluationDataset.Load(dataFile, session.Examples), cancellationToken);
    }

    /// <summary>Pre-tokenized ids: the model alone (no tokenizer.json needed; pads are masked, so their id does not matter).</summary>
    private static EvalMetrics ScorePreTokenized(string modelFolder, string? adapter, string dataFile, CancellationToken cancellationToken)
    {
        if (!Directory.Exists(modelFolder))
        {
            throw new DirectoryNotFoundException($"The model folder '{modelFolder}' does not exist. Fix: give a Hugging Face model folder (config.json, model.safetensors).");
        }
        using var model = HuggingFaceModelLoader.Load(modelFolder);
        if (adapter is not null) LoraAdapterExchange.Attach(model, LanguageModelSession.ReadAdapter(adapter));
        var result = new CausalLmEvaluator(model, model.Config.EosTokenId ?? 0, batchSize: 8)
            .Evaluate(EvaluationDataset.ReadPreTokenized(dataFile), cancellationToken);
        return new EvalMetrics(result.Tokens, result.MeanNll, result.Perplexity);
    }
}
