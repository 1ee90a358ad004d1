using Xunit;
using System.CommandLine;
using System.Text.Json.Nodes;
using FedTune.Cli.Commands;
using FedTune.Cli.Reporting;
using FedTune.Training.Privacy;

namespace FedTune.Cli.Tests.Privacy;

public sealed class PrivacyAuditCommandTests(PrivacyRunFixture run) : IClassFixture<PrivacyRunFixture>
{
    private static Task<int> Invoke(params string[] args) =>
        new RootCommand { PrivacyAuditCommand.Create() }.Parse(["privacy-audit", .. args]).InvokeAsync();

    [Fact]
    public async Task Audit_of_a_run_folder_writes_json_markdown_and_roc_plots_for_every_model()
    {
        var output = Path.Combine(run.RunDirectory, "audit-all");
        var exit = await Invoke("--run", run.RunDirectory, "--output", output, "--bootstrap", "100", "--canary-candidates", "20");
        Assert.Equal(0, exit);

        var json = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(output, PrivacyAuditResult.JsonFileName)))!;
        Assert.Equal(24, (int)json["members"]!);
        Assert.Equal(36, (int)json["non_members"]!);
        var models = json["models"]!.AsArray();
        Assert.Equal(["base", "federated/adapter", "federated-dp/adapter", "federated/checkpoints/round-1", "round 2"], models.Select(m => (string)m!["label"]!));
        Assert.Equal(2, (int)models[4]!["round"]!);
        Assert.Equal("FederatedDp", (string)models[2]!["arm"]!);
        Assert.Equal(1, (int)models[3]!["round"]!);
        var loss = models[1]!["attacks"]!.AsArray().Single(a => (string)a!["name"]! == "loss")!;
        Assert.InRange((double)loss["auroc"]!["value"]!, 0, 1);
        Assert.Equal(20, (int)models[1]!["canaries"]![0]!["candidates"]!);

        foreach (var file in new[] { "privacy-roc-loss.png", "privacy-roc-ref-loss.png", "privacy-roc-zlib.png", "privacy-roc-min-k-20.png", "privacy-roc-min-k-pp-20.png", PrivacyRocPlotter.CheckpointsFile })
        {
            var info = new FileInfo(Path.Combine(output, file));
            Assert.True(info.Exists && info.Length > 10_000, $"{file} should be a non-trivial PNG");
        }

        var markdown = await File.ReadAllTextAsync(Path.Combine(output, PrivacyAuditResult.MarkdownFileName));
        Assert.Contains("| federated/adapter | Federated |", markdown, StringComparison.Ordinal);
        Assert.Contains("![privacy-roc-loss](privacy-roc-loss.png)", markdown, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Hospital_audit_uses_only_that_hospitals_own_records()
    {
        var output = Path.Combine(run.RunDirectory, "audit-h1");
        var exit = await Invoke("--run", run.RunDirectory, "--hospital", "hospital-1", "--output", output, "--bootstrap", "50", "--canary-candidates", "20", "--no-base-row");
        Assert.Equal(0, exit);
        var json = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(output, PrivacyAuditResult.JsonFileName)))!;
        Assert.Equal(12, (int)json["members"]!);
        Assert.Equal(12, (int)json["non_members"]!);
        Assert.All(json["members_files"]!.AsArray(), f => Assert.Contains("hospital-1", (string)f!, StringComparison.Ordinal));
        Assert.DoesNotContain(json["models"]!.AsArray(), m => (string)m!["label"]! == "base");
    }

    [Fact]
    public async Task Explicit_paths_audit_the_given_adapter_with_its_epsilon()
    {
        var output = Path.Combine(run.RunDirectory, "audit-explicit");
        var data = Path.Combine(run.RunDirectory, "data");
        var exit = await Invoke(
            "--base", run.BaseDirectory,
            "--adapter", $"dp={Path.Combine(run.RunDirectory, "federated-dp", "adapter")},arm=federated-dp,epsilon=3.5",
            "--members", Path.Combine(data, "hospital-1", "train.jsonl"), "--members", Path.Combine(data, "hospital-2", "train.jsonl"),
            "--non-members", Path.Combine(data, "evaluation.jsonl"),
            "--output", output, "--bootstrap", "50");
        Assert.Equal(0, exit);
        var json = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(output, PrivacyAuditResult.JsonFileName)))!;
        var dp = json["models"]!.AsArray().Single(m => (string)m!["label"]! == "dp")!;
        Assert.Equal(3.5, (double)dp["epsilon"]!);
        Assert.Contains("| dp | FederatedDp | 3.5 |", await File.ReadAllTextAsync(Path.Combine(output, PrivacyAuditResult.MarkdownFileName)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_inputs_fail_with_exit_code_2_and_no_output()
    {
        var output = Path.Combine(run.RunDirectory, "audit-missing");
        Assert.Equal(2, await Invoke("--base", run.BaseDirectory, "--members", "nope.jsonl", "--non-members", "nope.jsonl", "--output", output));
        Assert.Equal(2, await Invoke("--run", Path.Combine(run.RunDirectory, "no-such-run")));
        Assert.Equal(2, await Invoke("--run", run.RunDirectory, "--hospital", "hospital-9", "--output", output));
        Assert.False(Directory.Exists(output));
    }

    [Fact]
    public void Inputs_file_round_trips_with_paths_relative_to_the_run()
    {
        var discovered = RunFolderAuditInputs.Discover(run.RunDirectory);
        var path = Path.Combine(run.RunDirectory, "copy", AuditInputsFile.FileName);
        AuditInputsFile.Save(discovered with { Models = [.. discovered.Models.Select(m => m.Arm == TrainingArm.FederatedDp ? m with { Epsilon = 4.25 } : m)] }, path);
        var loaded = AuditInputsFile.Load(path);
        Assert.Equal(discovered.BaseModelDirectory, loaded.BaseModelDirectory);
        Assert.Equal(discovered.MembersFiles, loaded.MembersFiles);
        Assert.Equal(discovered.NonMembersFiles, loaded.NonMembersFiles);
        Assert.Equal(discovered.CanaryFile, loaded.CanaryFile);
        Assert.Equal(discovered.Hospitals, loaded.Hospitals);
        Assert.Equal(4.25, loaded.Models.Single(m => m.Arm == TrainingArm.FederatedDp).Epsilon);
        // Paths outside the file's folder are stored absolute; inside it, relative.
        Assert.Contains($"\"{Path.Combine(run.RunDirectory, "data", "hospital-1", "train.jsonl")}\"", File.ReadAllText(path), StringComparison.Ordinal);
        var inside = Path.Combine(run.RunDirectory, "data", AuditInputsFile.FileName);
        AuditInputsFile.Save(discovered, inside);
        Assert.Contains("\"hospital-1/train.jsonl\"", File.ReadAllText(inside), StringComparison.Ordinal);
        Assert.Equal(discovered.MembersFiles, AuditInputsFile.Load(inside).MembersFiles);
    }
}

public sealed class PrivacyAuditAdapterOptionTests
{
    [Theory]
    [InlineData("fed=/m", "fed", TrainingArm.Other, null, null)]
    [InlineData("dp=/m,arm=federated-dp,epsilon=2.5,round=3", "dp", TrainingArm.FederatedDp, 2.5, 3)]
    [InlineData("c=/m,arm=centralized", "c", TrainingArm.Centralized, null, null)]
    [InlineData("l=/m,arm=local-only", "l", TrainingArm.LocalOnly, null, null)]
    public void ParseAdapter_reads_label_path_and_settings(string text, string label, TrainingArm arm, double? epsilon, int? round)
    {
        var spec = PrivacyAuditCommand.ParseAdapter(text);
        Assert.Equal(new AuditModelSpec(label, "/m", arm, epsilon, round), spec);
    }

    [Theory]
    [InlineData("no-equals")]
    [InlineData("a=/m,arm=sideways")]
    [InlineData("a=/m,epsilon=lots")]
    [InlineData("a=/m,colour=red")]
    public void ParseAdapter_rejects_malformed_text_with_the_expected_shape(string text)
    {
        var error = Assert.Throws<ArgumentException>(() => PrivacyAuditCommand.ParseAdapter(text));
        Assert.Contains(text, error.Message, StringComparison.Ordinal);
    }
}
