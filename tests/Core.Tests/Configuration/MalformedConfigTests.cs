using FedTune.Core.Configuration;
using FedTune.TestSupport;

namespace FedTune.Core.Tests.Configuration;

public sealed class MalformedConfigTests
{
    private static ConfigException Rejects(string yaml)
    {
        var ex = Assert.Throws<ConfigException>(() => FedTuneConfigLoader.Parse(yaml, "bad.yaml"));
        Assert.StartsWith("bad.yaml:", ex.Message, StringComparison.Ordinal);
        return ex;
    }

    private static string Replace(string from, string to) => SeedConfigYaml.Nested.Replace(from, to, StringComparison.Ordinal);

    [Fact]
    public void Wrong_type_names_line_key_and_expected_type()
    {
        var ex = Rejects(Replace("seq_length: 512", "seq_length: long"));
        Assert.Equal(14, ex.Line);
        Assert.Equal("train.seq_length", ex.KeyPath);
        Assert.Contains("expected a whole number", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'long'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_key_suggests_the_nearest_valid_key()
    {
        var ex = Rejects(Replace("peft_lora_alpha: 64", "peft_lora_alpah: 64"));
        Assert.Equal(10, ex.Line);
        Assert.Equal("model.lora.peft_lora_alpah", ex.KeyPath);
        Assert.Contains("unknown key", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Did you mean 'peft_lora_alpha'?", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_top_level_section_suggests_the_nearest_one()
    {
        var ex = Rejects(SeedConfigYaml.Nested + "\nfederaton:\n  rounds: 3\n");
        Assert.Contains("Did you mean 'federation'?", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Negative_learning_rate_is_out_of_range()
    {
        var ex = Rejects(Replace("learning_rate: 0.0005", "learning_rate: -0.0005"));
        Assert.Equal(17, ex.Line);
        Assert.Equal("train.training_arguments.learning_rate", ex.KeyPath);
        Assert.Contains("out of range", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Rank_zero_is_out_of_range()
    {
        var ex = Rejects(Replace("peft_lora_r: 16", "peft_lora_r: 0"));
        Assert.Equal(9, ex.Line);
        Assert.Equal("model.lora.peft_lora_r", ex.KeyPath);
        Assert.Contains("between 1 and", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_section_is_named()
    {
        var withoutTrain = SeedConfigYaml.Nested[..SeedConfigYaml.Nested.IndexOf("train:", StringComparison.Ordinal)];
        var ex = Rejects(withoutTrain);
        Assert.Equal("train", ex.KeyPath);
        Assert.Contains("required section 'train:' is missing", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_model_name_is_named()
    {
        var ex = Rejects(Replace("  name: EleutherAI/pythia-70m\n", string.Empty));
        Assert.Equal("model.name", ex.KeyPath);
        Assert.Contains("missing", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unsupported_quantization_lists_valid_values()
    {
        var ex = Rejects(Replace("quantization: 4", "quantization: 3"));
        Assert.Contains("expected 4 (NF4), 8 or null", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Misspelt_enum_value_suggests_the_nearest_value()
    {
        var ex = Rejects(Replace("lr_scheduler_type: cosine", "lr_scheduler_type: cosin"));
        Assert.Contains("Did you mean 'cosine'?", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Lora_given_twice_is_rejected()
    {
        var ex = Rejects(SeedConfigYaml.Nested + "\nlora:\n  peft_lora_r: 8\n");
        Assert.Contains("given twice", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Invalid_yaml_reports_its_line()
    {
        var ex = Rejects("dataset:\n  name: x\n  - item\nmodel: x\n");
        Assert.Equal(3, ex.Line);
        Assert.Contains("not valid YAML", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_federation_values_are_rejected_with_their_key()
    {
        var federation = SeedConfigYaml.Nested + SeedConfigYaml.Federation;
        Assert.Equal("federation.strategy.name", Rejects(federation.Replace("name: fedadam", "name: fedadamm", StringComparison.Ordinal)).KeyPath);
        Assert.Equal("federation.round_deadline", Rejects(federation.Replace("45m", "soon", StringComparison.Ordinal)).KeyPath);
        Assert.Equal("federation.hospitals[2].id", Rejects(federation.Replace("id: hospital-c", "id: hospital-a", StringComparison.Ordinal)).KeyPath);
        Assert.Equal("federation.differential_privacy.clip_norm", Rejects(federation.Replace("clip_norm: 0.5", "clip_norm: 0", StringComparison.Ordinal)).KeyPath);
        Assert.Equal("federation.min_available_clients", Rejects(federation.Replace("min_available_clients: 3", "min_available_clients: 1", StringComparison.Ordinal)).KeyPath);
    }

    [Fact]
    public void Missing_file_is_reported_by_path()
    {
        var ex = Assert.Throws<ConfigException>(() => FedTuneConfigLoader.LoadFile("/nonexistent/fedtune.yaml"));
        Assert.Contains("/nonexistent/fedtune.yaml", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_tab_in_the_indentation_is_reported_on_its_own_line_with_the_fix()
    {
        // Line 14 is "  seq_length: 512"; its indentation becomes a tab.
        var ex = Rejects(Replace("  seq_length: 512", "\tseq_length: 512"));
        Assert.Equal(14, ex.Line);
        Assert.Equal(1, ex.Column);
        Assert.Contains("tab", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Fix: replace the tab with spaces", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Fact]
    public void A_duplicate_key_is_reported_at_the_repeated_key_with_the_fix()
    {
        // Line 15 is "  padding_side: left"; a second seq_length follows it on line 16.
        var ex = Rejects(Replace("  padding_side: left", "  padding_side: left\n  seq_length: 256"));
        Assert.Equal(16, ex.Line);
        Assert.Contains("Fix: a key may appear once per section", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_badly_indented_key_is_reported_on_its_line_with_the_fix()
    {
        // Line 14 "  seq_length: 512" indented by one space too many, under a scalar sibling.
        var ex = Rejects(Replace("  seq_length: 512", "   seq_length: 512"));
        Assert.Equal(14, ex.Line);
        Assert.True(ex.Message.Contains("Fix: indent this line exactly like the other keys of its section", StringComparison.Ordinal), ex.Message);
    }
}
