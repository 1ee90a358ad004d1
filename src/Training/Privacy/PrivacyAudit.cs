using FedTune.Core.Data;
using FedTune.Core.Privacy;
using FedTune.Training.Data;
using FedTune.Training.Modeling;

namespace FedTune.Training.Privacy;

/// <summary>
/// Membership-inference and canary audit of fine-tuned models: scores member and non-member records under the base
/// model (the reference) and under each audited model, runs every attack of <see cref="MembershipAttackSuite"/>,
/// measures canary exposure, and writes <see cref="PrivacyAuditResult.JsonFileName"/> and
/// <see cref="PrivacyAuditResult.MarkdownFileName"/> into the output folder. Everything runs locally: a hospital
/// auditing its own records sends nothing anywhere.
/// </summary>
public static class PrivacyAudit
{
    public static Task<PrivacyAuditResult> RunAsync(
        AuditInputs inputs,
        PrivacyAuditOptions options,
        string outputDirectory,
        IAuditModelLoader loader,
        IProgress<string>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(outputDirectory);
        ArgumentNullException.ThrowIfNull(loader);
        inputs.Validate();
        options.Validate();
        // TorchSharp dispose scopes are per thread: the whole audit runs on one worker thread.
        return Task.Factory.StartNew(
            () => Run(inputs, options, outputDirectory, loader, progress, cancellationToken),
            cancellationToken,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);
    }

    private static PrivacyAuditResult Run(
        AuditInputs inputs, PrivacyAuditOptions options, string outputDirectory, IAuditModelLoader loader,
        IProgress<string>? progress, CancellationToken cancellationToken)
    {
        var canaries = inputs.CanaryFile is null ? null : CanarySet.Load(inputs.CanaryFile);
        var records = AuditRecords.Prepare(inputs, options, loader.Tokenizer, canaries);
        progress?.Report($"Scoring {records.Members.Count} members and {records.NonMembers.Count} non-members ({records.Dropped} records dropped).");

        var models = new List<ModelAuditResult>();
        RecordSetScores reference;
        using (var baseModel = loader.LoadBase())
        {
            reference = ScoreRecords(baseModel, loader.Tokenizer, records, options, cancellationToken);
            if (options.IncludeBaseModel)
            {
                var spec = new AuditModelSpec(AuditModelSpec.BaseLabel, inputs.BaseModelDirectory, TrainingArm.Base);
                models.Add(Evaluate(spec, baseModel, reference, null, records, canaries, loader.Tokenizer, options, cancellationToken));
                progress?.Report(Summary(models[^1]));
            }
        }

        foreach (var spec in inputs.Models)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var model = loader.Load(spec);
            var scores = ScoreRecords(model, loader.Tokenizer, records, options, cancellationToken);
            models.Add(Evaluate(spec, model, scores, reference, records, canaries, loader.Tokenizer, options, cancellationToken));
            progress?.Report(Summary(models[^1]));
        }

        var result = new PrivacyAuditResult(
            models, records.Members.Count, records.NonMembers.Count, records.Dropped, options.Bootstrap, inputs.MembersFiles, inputs.NonMembersFiles);
        Directory.CreateDirectory(outputDirectory);
        PrivacyAuditJson.Write(result, Path.Combine(outputDirectory, PrivacyAuditResult.JsonFileName));
        File.WriteAllText(Path.Combine(outputDirectory, PrivacyAuditResult.MarkdownFileName), PrivacyAuditMarkdown.Render(result));
        return result;
    }

    private static ModelAuditResult Evaluate(
        AuditModelSpec spec, ICausalLanguageModel model, RecordSetScores scores, RecordSetScores? reference, AuditRecords records,
        CanarySet? canaries, ITextTokenizer tokenizer, PrivacyAuditOptions options, CancellationToken cancellationToken)
    {
        var attacks = MembershipAttackSuite.Evaluate(scores.Members, scores.NonMembers, reference?.Members, reference?.NonMembers, options.Bootstrap);
        var exposures = canaries is null
            ? []
            : CanaryExposureMeter.Measure(model, tokenizer, canaries, records.Tokenizer, options, cancellationToken);
        return new ModelAuditResult(spec, attacks, scores.Members.Average(t => t.MeanNll), scores.NonMembers.Average(t => t.MeanNll), exposures);
    }

    private static RecordSetScores ScoreRecords(
        ICausalLanguageModel model, ITextTokenizer tokenizer, AuditRecords records, PrivacyAuditOptions options, CancellationToken cancellationToken)
    {
        var scorer = new TokenLogProbabilityScorer(model, tokenizer, options.Scoring);
        return new RecordSetScores(scorer.Score(records.Members, cancellationToken), scorer.Score(records.NonMembers, cancellationToken));
    }

    private static string Summary(ModelAuditResult result)
    {
        var loss = result.Attack("loss").Metrics;
        return string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"{result.Model.Label}: loss-attack AUROC {loss.Auroc}, member NLL {result.MemberMeanNll:0.000} vs non-member {result.NonMemberMeanNll:0.000}");
    }

    private sealed record RecordSetScores(IReadOnlyList<TokenLogProbabilities> Members, IReadOnlyList<TokenLogProbabilities> NonMembers);
}
