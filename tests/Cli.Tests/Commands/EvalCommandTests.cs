using System.CommandLine;
using System.Text.Json.Nodes;
using FedTune.Cli.Commands;
using FedTune.Cli.Tests.Simulation;
using FedTune.TestSupport;
using Xunit;

namespace FedTune.Cli.Tests.Commands;

/// <summary>`fedtune eval` on pre-tokenized ids: no tokenizer.json needed, and the padded batch scores what each line scores alone.</summary>
public sealed class EvalCommandTests : IDisposable
{
    private readonly TempDirectory _temp = new("fedtune-eval-cmd");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Pre_tokenized_lines_of_different_lengths_are_scored_without_a_tokenizer_json()
    {
        var model = TinyByteModel.Create(_temp.Path);
        File.Delete(Path.Combine(model, "tokenizer.json"));
        var ids = _temp.WriteFile("ids.jsonl", "{\"input_ids\": [72, 101, 108, 108, 111, 33]}\n{\"input_ids\": [79, 107]}\n{\"input_ids\": [65, 66, 67, 68]}\n");
        var output = new StringWriter();
        var saved = Console.Out;
        int exit;
        try
        {
            Console.SetOut(output);
            exit = await new RootCommand { EvalCommand.Create() }.Parse(["eval", "--model", model, "--data", ids]).InvokeAsync();
        }
        finally
        {
            Console.SetOut(saved);
        }

        Assert.Equal(0, exit);
        var json = JsonNode.Parse(output.ToString().Trim().Split('\n')[^1])!;
        Assert.Equal(5 + 1 + 3, json["tokens"]!.GetValue<double>());
        Assert.True(json["mean_nll"]!.GetValue<double>() > 0);
    }
}
