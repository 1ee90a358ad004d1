using FedTune.TestSupport;
using FedTune.Core.Data;
using Xunit;

namespace FedTune.Core.Tests.Data;

public sealed class AlpacaDatasetReaderTests : IDisposable
{
    private readonly TempDirectory _folder = new("fedtune-data");

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void Read_parses_a_json_array_with_missing_and_null_input_as_empty()
    {
        var path = _folder.WriteFile("a.json", """
            [
              {"instruction": "Answer", "input": "What causes X?", "output": "Y."},
              {"instruction": "Say hi", "output": "hi"},
              {"instruction": "Say bye", "input": null, "output": "bye"}
            ]
            """);

        var records = new AlpacaDatasetReader().ReadAll(path);

        Assert.Equal(
            [new AlpacaRecord("Answer", "What causes X?", "Y."), new AlpacaRecord("Say hi", "", "hi"), new AlpacaRecord("Say bye", "", "bye")],
            records);
    }

    [Fact]
    public void Read_parses_jsonl_skipping_blank_lines()
    {
        var path = _folder.WriteFile("a.jsonl", "{\"instruction\":\"i1\",\"input\":\"q1\",\"output\":\"o1\"}\n\n{\"instruction\":\"i2\",\"input\":\"\",\"output\":\"o2\"}\n");

        var records = new AlpacaDatasetReader().ReadAll(path);

        Assert.Equal([new AlpacaRecord("i1", "q1", "o1"), new AlpacaRecord("i2", "", "o2")], records);
    }

    [Fact]
    public void Read_parses_csv_with_configured_column_names_quotes_commas_and_newlines()
    {
        var path = _folder.WriteFile("a.csv", "Question,Task,Answer\n\"What, causes \"\"X\"\"?\",Answer,\"line1\nline2\"\nq2,t2,a2\n");

        var records = new AlpacaDatasetReader(new AlpacaColumnNames("task", "question", "answer")).ReadAll(path);

        Assert.Equal([new AlpacaRecord("Answer", "What, causes \"X\"?", "line1\nline2"), new AlpacaRecord("t2", "q2", "a2")], records);
    }

    [Fact]
    public void Read_names_file_and_line_when_a_jsonl_line_is_malformed()
    {
        var path = _folder.WriteFile("bad.jsonl", "{\"instruction\":\"i\",\"output\":\"o\"}\n{\"instruction\": oops}\n");

        var error = Assert.Throws<DatasetFormatException>(() => new AlpacaDatasetReader().ReadAll(path));

        Assert.Equal(2, error.LineNumber);
        Assert.Contains("bad.jsonl, line 2", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_names_the_missing_field_and_its_line_in_a_json_array()
    {
        var path = _folder.WriteFile("missing.json", "[\n  {\"instruction\":\"i\",\"output\":\"o\"},\n  {\"instruction\":\"i\",\"input\":\"q\"}\n]");

        var error = Assert.Throws<DatasetFormatException>(() => new AlpacaDatasetReader().ReadAll(path));

        Assert.Equal(3, error.LineNumber);
        Assert.Contains("'output'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_rejects_a_non_string_field_naming_it()
    {
        var path = _folder.WriteFile("num.jsonl", "{\"instruction\":\"i\",\"input\":\"q\",\"output\":42}\n");

        var error = Assert.Throws<DatasetFormatException>(() => new AlpacaDatasetReader().ReadAll(path));

        Assert.Contains("'output' is a Number", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("empty.json", "")]
    [InlineData("empty.jsonl", "\n\n")]
    [InlineData("empty.csv", "")]
    [InlineData("header-only.csv", "instruction,input,output\n")]
    [InlineData("empty-array.json", "[]")]
    public void Read_rejects_files_without_records(string name, string content)
    {
        var path = _folder.WriteFile(name, content);

        var error = Assert.Throws<DatasetFormatException>(() => new AlpacaDatasetReader().ReadAll(path));

        Assert.Contains(name, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_rejects_csv_without_a_required_column_listing_the_columns()
    {
        var path = _folder.WriteFile("cols.csv", "prompt,answer\nq,a\n");

        var error = Assert.Throws<DatasetFormatException>(() => new AlpacaDatasetReader().ReadAll(path));

        Assert.Contains("no 'instruction' column", error.Message, StringComparison.Ordinal);
        Assert.Contains("prompt, answer", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_rejects_a_csv_row_with_the_wrong_field_count_naming_the_line()
    {
        var path = _folder.WriteFile("ragged.csv", "instruction,input,output\na,b,c\na,b\n");

        var error = Assert.Throws<DatasetFormatException>(() => new AlpacaDatasetReader().ReadAll(path));

        Assert.Equal(3, error.LineNumber);
    }

    [Fact]
    public void Read_reports_a_missing_file_with_its_path()
    {
        var path = _folder.File("nope.json");

        var error = Assert.Throws<FileNotFoundException>(() => new AlpacaDatasetReader().ReadAll(path));

        Assert.Contains(path, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_streams_jsonl_so_records_before_a_bad_line_are_delivered()
    {
        var path = _folder.WriteFile("partial.jsonl", "{\"instruction\":\"i\",\"output\":\"o\"}\nnot json\n");
        var delivered = new List<AlpacaRecord>();

        Assert.Throws<DatasetFormatException>(() =>
        {
            foreach (var record in new AlpacaDatasetReader().Read(path))
            {
                delivered.Add(record);
            }
        });

        Assert.Single(delivered);
    }

    [RealMedicalDataFact]
    public void Read_loads_all_5942_real_wikidoc_records()
    {
        var records = new AlpacaDatasetReader().ReadAll(TestPaths.MedicalMeadowFile!);

        Assert.Equal(5942, records.Count);
        Assert.All(records, r => Assert.False(string.IsNullOrWhiteSpace(r.Output)));
    }
}
