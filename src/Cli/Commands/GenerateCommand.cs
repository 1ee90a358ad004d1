using System.CommandLine;
using FedTune.Cli.Simulation;
using FedTune.Core.Data;
using FedTune.Training.Data;
using FedTune.Training.Generation;

namespace FedTune.Cli.Commands;

/// <summary>`fedtune generate`: continue an Alpaca-formatted question with a model (plus adapter); greedy at temperature 0.</summary>
internal static class GenerateCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Hugging Face model folder.", Required = true };
        var adapter = new Option<string?>("--adapter") { Description = "A LoRA adapter: PEFT folder or FedTune adapter file." };
        var prompt = new Option<string>("--prompt") { Description = "The question (formatted with the training prompt template).", Required = true };
        var raw = new Option<bool>("--raw") { Description = "Use the prompt text as is, without the Alpaca template." };
        var maxNew = new Option<int>("--max-new-tokens") { Description = "Tokens to generate at most.", DefaultValueFactory = _ => 64 };
        var temperature = new Option<double>("--temperature") { Description = "0 = greedy; above 0 samples.", DefaultValueFactory = _ => 0 };
        var seed = new Option<long>("--seed") { Description = "Sampling seed.", DefaultValueFactory = _ => 42 };
        var command = new Command("generate", "Generate an answer with a model (plus adapter) using the key/value cache.")
        {
            model, adapter, prompt, raw, maxNew, temperature, seed,
        };
        command.SetAction(parse =>
        {
            try
            {
                using var session = LanguageModelSession.Load(parse.GetValue(model)!, 4096);
                if (parse.GetValue(adapter) is { } a) session.UseAdapter(LanguageModelSession.ReadAdapter(a));
                var text = parse.GetValue(raw)
                    ? parse.GetValue(prompt)!
                    : AlpacaPromptTemplate.Alpaca.FormatPrompt(new AlpacaRecord("Answer this question truthfully", parse.GetValue(prompt)!, ""));
                var ids = session.Tokenizer.Encode(text).Select(i => (long)i).ToArray();
                var options = new GenerationOptions
                {
                    MaxNewTokens = parse.GetValue(maxNew),
                    Temperature = parse.GetValue(temperature),
                    Seed = parse.GetValue(seed),
                    EosTokenId = session.Tokenizer.EosTokenId,
                    PadTokenId = session.Tokenizer.PadTokenId,
                }.Validate();
                var output = TextGenerator.Generate(session.Model, [ids], options)[0];
                Console.WriteLine(session.Tokenizer.Decode(output.Select(i => (int)i)));
                return 0;
            }
            catch (Exception e) when (e is IOException or InvalidDataException or ArgumentException or FedTune.Core.Adapters.AdapterFormatException)
            {
                Console.Error.WriteLine("fedtune generate: " + e.Message);
                return 1;
            }
        });
        return command;
    }
}
