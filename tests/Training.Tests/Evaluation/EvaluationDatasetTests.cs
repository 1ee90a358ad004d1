using FedTune.TestSupport;
using FedTune.Training.Data;
using FedTune.Training.Evaluation;
using FedTune.Training.Tests.Trainer;
using Xunit;

namespace FedTune.Training.Tests.Evaluation;

public sealed class EvaluationDatasetTests : IDisposable
{
    private readonly TempDirectory _folder = new("fedtune-eval");

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void Load_reads_pre_tokenized_lines_without_a_tokenizer_scoring_every_token()
    {
        var path = _folder.WriteFile("ids.jsonl", "{\"input_ids\": [5, 6, 7]}\n\n{\"input_ids\": [8, 9]}\n");

        var examples = EvaluationDataset.Load(path, tokenizer: null);

        Assert.Equal(2, examples.Count);
        Assert.Equal([5, 6, 7], examples[0].InputIds);
        Assert.Equal(2, examples[0].ScoredTokenCount);
    }

    [Fact]
    public void Load_tokenizes_alpaca_records_with_completion_only_labels()
    {
        var path = _folder.WriteFile("records.jsonl", "{\"instruction\":\"Say hi\",\"input\":\"\",\"output\":\"hi\"}\n");

        var examples = EvaluationDataset.Load(path, new AlpacaExampleTokenizer(new ByteTokenizer()));

        Assert.Equal(3, examples[0].ScoredTokenCount);
    }

    [Fact]
    public void Load_of_text_records_without_a_tokenizer_says_what_to_pass()
    {
        var path = _folder.WriteFile("records.json", "[{\"instruction\":\"Say hi\",\"output\":\"hi\"}]");

        var error = Assert.Throws<ArgumentException>(() => EvaluationDataset.Load(path, tokenizer: null));

        Assert.Contains("tokenizer", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadPreTokenized_names_the_line_of_a_bad_token_list()
    {
        var path = _folder.WriteFile("bad.jsonl", "{\"input_ids\": [1, 2]}\n{\"input_ids\": [1, \"x\"]}\n");

        var error = Assert.Throws<InvalidDataException>(() => EvaluationDataset.Load(path, tokenizer: null));

        Assert.Contains("line 2", error.Message, StringComparison.Ordinal);
    }
}
