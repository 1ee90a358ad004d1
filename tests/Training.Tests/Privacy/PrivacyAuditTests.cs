using Xunit;
using Xunit.Abstractions;
using FedTune.Core.Data;
using FedTune.Core.Privacy;
using FedTune.Training.Privacy;
using FedTune.Training.Tests.Trainer;

namespace FedTune.Training.Tests.Privacy;

public sealed class PrivacyAuditTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _folder = PrivacyTestModels.NewFolder();

    private static PrivacyAuditOptions Options(int resamples = 300) => new()
    {
        Bootstrap = new BootstrapOptions { Resamples = resamples },
        Template = PrivacyTestModels.ShortTemplate,
        Tokenization = PrivacyTestModels.Tokenization,
        CanaryCandidates = 200,
    };

    private (string Base, string Members, string NonMembers) Setup(int members, int nonMembers)
    {
        var basePath = Path.Combine(_folder, "base");
        PrivacyTestModels.SaveBase(basePath);
        var membersPath = Path.Combine(_folder, "members.jsonl");
        var nonMembersPath = Path.Combine(_folder, "non-members.jsonl");
        AlpacaJsonlWriter.Write(membersPath, PrivacyTestModels.Records(members, seed: 100));
        AlpacaJsonlWriter.Write(nonMembersPath, PrivacyTestModels.Records(nonMembers, seed: 200));
        return (basePath, membersPath, nonMembersPath);
    }

    [Fact]
    public async Task Loss_attack_separates_the_members_of_a_deliberately_overfitted_model()
    {
        var (basePath, members, nonMembers) = Setup(16, 48);
        var adapter = Path.Combine(_folder, "overfit");
        PrivacyTestModels.TrainAdapter(basePath, PrivacyTestModels.Records(16, seed: 100), adapter, steps: 120);

        var auditFolder = Path.Combine(_folder, "audit");
        var inputs = new AuditInputs(basePath, [new AuditModelSpec("overfit", adapter, TrainingArm.Federated)], [members], [nonMembers]);
        var result = await PrivacyAudit.RunAsync(inputs, Options(), auditFolder, new HuggingFaceAuditModelLoader(basePath, new ByteTokenizer()));

        output.WriteLine(PrivacyAuditMarkdown.Render(result));
        var overfit = result.Models.Single(m => m.Model.Label == "overfit");
        Assert.True(overfit.MemberMeanNll < overfit.NonMemberMeanNll - 0.5, $"member NLL {overfit.MemberMeanNll} vs non-member {overfit.NonMemberMeanNll}");
        Assert.True(overfit.Attack("loss").Metrics.Auroc.Value > 0.8, $"loss AUROC {overfit.Attack("loss").Metrics.Auroc}");
        Assert.True(overfit.Attack("ref-loss").Metrics.Auroc.Lower > 0.7, $"ref-loss AUROC {overfit.Attack("ref-loss").Metrics.Auroc}");
        Assert.True(overfit.Attack("min-k 20%").Metrics.Auroc.Value > 0.7, $"min-k AUROC {overfit.Attack("min-k 20%").Metrics.Auroc}");
        var control = result.Models.Single(m => m.Model.Arm == TrainingArm.Base).Attack("loss").Metrics.Auroc;
        Assert.InRange(0.5, control.Lower, control.Upper);
        Assert.True(File.Exists(Path.Combine(auditFolder, PrivacyAuditResult.JsonFileName)));
        Assert.Contains("| overfit | Federated |", await File.ReadAllTextAsync(Path.Combine(auditFolder, PrivacyAuditResult.MarkdownFileName)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_attack_on_an_untrained_model_is_at_chance()
    {
        var (basePath, members, nonMembers) = Setup(200, 200);
        var inputs = new AuditInputs(basePath, [], [members], [nonMembers]);
        var result = await PrivacyAudit.RunAsync(inputs, Options(), Path.Combine(_folder, "audit"), new HuggingFaceAuditModelLoader(basePath, new ByteTokenizer()));

        output.WriteLine(PrivacyAuditMarkdown.Render(result));
        var untrained = Assert.Single(result.Models);
        Assert.Equal(200, result.MemberCount);
        foreach (var attack in untrained.Attacks.Where(a => a.Headline))
        {
            Assert.True(attack.Metrics.Auroc.Lower <= 0.5 && 0.5 <= attack.Metrics.Auroc.Upper, $"{attack.Name}: AUROC {attack.Metrics.Auroc} should cover 0.5");
            Assert.InRange(attack.Metrics.Auroc.Upper - attack.Metrics.Auroc.Lower, 0.05, 0.25);
        }
    }

    [Fact]
    public async Task Canary_planted_in_training_data_gains_exposure_over_the_base_model()
    {
        var (basePath, members, nonMembers) = Setup(16, 16);
        var canaries = CanarySet.Create(new CanaryOptions { Count = 1, Repetitions = 4, Digits = 6, Candidates = 200 });
        var canaryFile = Path.Combine(_folder, CanarySet.FileName);
        canaries.Save(canaryFile);
        var adapter = Path.Combine(_folder, "with-canary");
        PrivacyTestModels.TrainAdapter(basePath, canaries.InsertInto(PrivacyTestModels.Records(16, seed: 100)), adapter, steps: 120);

        var inputs = new AuditInputs(basePath, [new AuditModelSpec("trained", adapter)], [members], [nonMembers], canaryFile);
        var result = await PrivacyAudit.RunAsync(inputs, Options(resamples: 50), Path.Combine(_folder, "audit"), new HuggingFaceAuditModelLoader(basePath, new ByteTokenizer()));

        output.WriteLine(PrivacyAuditMarkdown.Render(result));
        var before = Assert.Single(result.Models[0].Canaries);
        var after = Assert.Single(result.Models[1].Canaries);
        Assert.Equal(200, after.Candidates);
        Assert.True(after.Exposure > 5 && after.Exposure > before.Exposure + 2, $"exposure {before.Exposure:0.00} bits before training, {after.Exposure:0.00} after");
    }

    [Fact]
    public async Task RunAsync_names_a_missing_input_file_and_the_option_that_fixes_it()
    {
        var (basePath, members, _) = Setup(4, 4);
        var inputs = new AuditInputs(basePath, [], [members], [Path.Combine(_folder, "missing.jsonl")]);
        var error = await Assert.ThrowsAsync<ArgumentException>(() =>
            PrivacyAudit.RunAsync(inputs, Options(), _folder, new HuggingFaceAuditModelLoader(basePath, new ByteTokenizer())));
        Assert.Contains("--non-members FILE", error.Message, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
