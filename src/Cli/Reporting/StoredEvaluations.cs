using FedTune.Core.Protocol;

namespace FedTune.Cli.Reporting;

/// <summary>
/// What an evaluator of a run (here <c>fedtune simulate</c>) keeps in Blob Storage beside the orchestrator's round
/// records, so that the dashboard and <c>fedtune report</c> have the global model's held-out curve: one
/// <see cref="GlobalEvaluationRecord"/> per round (round 0 = the base model) and its setup (settings, base model),
/// in <c>runs/{run}/evaluations/</c>. Every blob is written once; a resumed run finds them there.
/// </summary>
public static class StoredEvaluations
{
    public const string Evaluator = "fedtune simulate";

    /// <summary>The evaluator's setup blob: the settings and base model the report states.</summary>
    public static BlobRef SetupBlob(string runId) => new(BlobLayout.GlobalContainer, BlobLayout.GlobalEvaluationFolder(runId) + "setup.json");

    /// <summary>Saves the report's settings, base model and base-model evaluation (round 0).</summary>
    public static async Task SaveSetupAsync(BlobStore store, RunReport report, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(report);
        var setup = new EvaluationSetup(report.Settings, report.BaseModel, report.StartedUtc);
        await store.TryCreateAsync(SetupBlob(report.RunId), BinaryData.FromString(System.Text.Json.JsonSerializer.Serialize(setup, RunReportJson.Options)),
            cancellationToken).ConfigureAwait(false);
        if (report.BaseEval is { } baseEval) await SaveAsync(store, report.RunId, 0, null, baseEval, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Saves the held-out evaluation of round <paramref name="round"/>'s global adapter.</summary>
    public static Task SaveAsync(BlobStore store, string runId, int round, string? adapterSha256, EvalMetrics eval, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(eval);
        return store.TryCreateJsonAsync(BlobLayout.GlobalEvaluation(runId, round), new GlobalEvaluationRecord
        {
            RunId = runId,
            Round = round,
            Tokens = eval.Tokens,
            MeanNll = eval.MeanNll,
            Perplexity = eval.Perplexity,
            AdapterSha256 = adapterSha256,
            Evaluator = Evaluator,
            ScoredUtc = DateTimeOffset.UtcNow,
        }, cancellationToken);
    }

    public static async Task<EvaluationSetup?> ReadSetupAsync(BlobStore store, string runId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        var bytes = await store.TryReadAllBytesAsync(SetupBlob(runId), cancellationToken).ConfigureAwait(false);
        if (bytes is null) return null;
        try
        {
            return System.Text.Json.JsonSerializer.Deserialize<EvaluationSetup>(bytes, RunReportJson.Options);
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new InvalidDataException($"{SetupBlob(runId)} is not a valid evaluation setup ({e.Message}).", e);
        }
    }

    public static async Task<EvalMetrics?> ReadAsync(BlobStore store, string runId, int round, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        var record = await store.TryReadJsonAsync<GlobalEvaluationRecord>(BlobLayout.GlobalEvaluation(runId, round), cancellationToken).ConfigureAwait(false);
        return record is null ? null : new EvalMetrics(record.Tokens, record.MeanNll, record.Perplexity);
    }
}

/// <summary>The settings and base model an evaluator used, and when the run started.</summary>
public sealed record EvaluationSetup(RunSettings Settings, BaseModelInfo BaseModel, DateTimeOffset StartedUtc);
