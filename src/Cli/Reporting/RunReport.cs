using System.Text.Json.Serialization;

namespace FedTune.Cli.Reporting;

/// <summary>How a run ended.</summary>
public enum RunOutcome
{
    /// <summary>Still running (a report written mid-run, after each round).</summary>
    Running,

    /// <summary>Every round finished and the final model was exported.</summary>
    Completed,

    /// <summary>Stopped by an error; <see cref="RunReport.FailureMessage"/> says which.</summary>
    Failed,

    /// <summary>Stopped by the user (Ctrl+C); the run can be resumed.</summary>
    Cancelled,
}

/// <summary>A hospital's state within one round, as the live display and the report show it.</summary>
public enum HospitalRoundState
{
    Waiting,
    Training,
    Uploaded,
    Straggler,
    Rejected,
}

/// <summary>Token-weighted held-out language-model metrics.</summary>
/// <param name="Tokens">Tokens scored.</param>
/// <param name="MeanNll">Mean negative log-likelihood per token (nats).</param>
/// <param name="Perplexity">exp(MeanNll).</param>
public sealed record EvalMetrics(long Tokens, double MeanNll, double Perplexity)
{
    /// <summary>Metrics from a mean NLL (perplexity is its exponential).</summary>
    public static EvalMetrics FromNll(long tokens, double meanNll) => new(tokens, meanNll, Math.Exp(meanNll));
}

/// <summary>The settings a run used, as the report states them.</summary>
public sealed record RunSettings
{
    public required int Hospitals { get; init; }
    public required int Rounds { get; init; }
    public required int MaxStepsPerRound { get; init; }
    public required int SeqLength { get; init; }
    public required int BatchSize { get; init; }
    public required double LearningRate { get; init; }
    public required string Partitioning { get; init; }
    /// <summary>The run's seed; null when the report was rebuilt from storage of a run that did not record it.</summary>
    public required int? Seed { get; init; }
    /// <summary>Records in the held-out evaluation split; null when the run had no evaluator.</summary>
    public required int? EvalExamples { get; init; }
    public required string DataPath { get; init; }
    public required string Strategy { get; init; }

    /// <summary>How adapters travelled both ways (train.wire_precision: fp32, fp16 or int8); null in reports of runs that did not record it.</summary>
    public string? WirePrecision { get; init; }
    public string? ConfigPath { get; init; }
}

/// <summary>Which base model a run used and where it came from.</summary>
/// <param name="Name">The model's name (the config's, or "embedded default").</param>
/// <param name="Source">"config" when the configured model's files were found locally, "embedded" otherwise.</param>
/// <param name="Path">The local model folder.</param>
public sealed record BaseModelInfo(string Name, string Source, string Path);

/// <summary>One hospital's part in one round.</summary>
public sealed record HospitalRoundReport
{
    public required string HospitalId { get; init; }
    public required HospitalRoundState State { get; init; }
    public double? TrainLoss { get; init; }
    public double? EvalNll { get; init; }
    public double? EvalPerplexity { get; init; }
    public long TrainExamples { get; init; }
    public long EvalExamples { get; init; }
    public long BytesUp { get; init; }
    public long BytesDown { get; init; }
    public double TrainSeconds { get; init; }
    /// <summary>Seconds from the agent seeing the task to its adapter upload completing (its manifest's busy_seconds).</summary>
    public double BusySeconds { get; init; }
    /// <summary>Of <see cref="BusySeconds"/>, the seconds the agent spent loading the base model (0 when it reused the model it kept from an earlier round).</summary>
    public double ModelLoadSeconds { get; init; }
    /// <summary>The recipe as this hospital's agent ran it, from its manifest; null when it sent none.</summary>
    public FedTune.Core.Protocol.TrainingAsRun? Ran { get; init; }
    public string? RejectionReason { get; init; }
}

/// <summary>One federated round: every selected hospital's result and the new global model's held-out metrics.</summary>
public sealed record RoundReport
{
    public required int Round { get; init; }
    /// <summary>Round start (tasks issued) to the new global adapter written.</summary>
    public required double DurationSeconds { get; init; }
    /// <summary>
    /// <see cref="DurationSeconds"/> minus the slowest uploaded hospital's <see cref="HospitalRoundReport.BusySeconds"/>: the
    /// time the round spent on anything but the hospitals' work (task pickup, upload notice, checks, aggregation).
    /// </summary>
    public double? IdleSeconds => Hospitals.Where(h => h.State == HospitalRoundState.Uploaded && h.BusySeconds > 0).Select(h => (double?)h.BusySeconds).Max()
        is { } busiest ? DurationSeconds - busiest : null;
    public EvalMetrics? GlobalEval { get; init; }
    public required IReadOnlyList<HospitalRoundReport> Hospitals { get; init; }

    /// <summary>
    /// Client-level DP-FedAvg only: the ε spent up to and including this round (at the configured δ), as the
    /// orchestrator's accountant reports it; null when the run has no differential privacy.
    /// </summary>
    public double? DpEpsilon { get; init; }

    /// <summary>
    /// Record-level DP-SGD only (train.differential_privacy): the largest ε any hospital of this round reports having
    /// spent on its own records up to and including this round; null without record-level DP.
    /// </summary>
    public double? RecordEpsilon { get; init; }

    /// <summary>The ε this round's global model carries: the record-level ε when the round has one, else the hospital-level ε.</summary>
    [JsonIgnore]
    public double? Epsilon => RecordEpsilon ?? DpEpsilon;

    /// <summary>
    /// Relative Frobenius error of averaging A and B separately against averaging the products B·A, measured by the
    /// orchestrator this round: above zero for plain FedAvg of LoRA, zero with freeze_a (A shared, B averaged exactly).
    /// </summary>
    public double? LoraProductError { get; init; }

    /// <summary>L2 distance the global adapter moved this round.</summary>
    public double? GlobalDeltaNorm { get; init; }

    /// <summary>What bounded each hospital's aggregation weight this round.</summary>
    public string? Weighting { get; init; }

    /// <summary>How this round's hospitals were drawn.</summary>
    public string? Sampling { get; init; }

    /// <summary>Set when the round was securely aggregated (the orchestrator read only the masked uploads' sum).</summary>
    public Core.Protocol.SecureAggregationFacts? SecureAggregation { get; init; }
}

/// <summary>A point of a baseline's held-out curve: after the optimizer steps the federation had made by <see cref="Round"/>.</summary>
public sealed record BaselinePoint(int Round, long OptimizerSteps, EvalMetrics Eval);

/// <summary>A baseline arm (centralized, or one hospital's local-only model) evaluated on the same held-out split.</summary>
/// <param name="Arm">"centralized" or "local-only".</param>
/// <param name="Label">What the legend shows, e.g. "centralized" or "local-only hospital-1".</param>
public sealed record BaselineCurve(string Arm, string Label, IReadOnlyList<BaselinePoint> Points);

/// <summary>A model's held-out metrics on the evaluation records of one specialty.</summary>
/// <param name="Specialty">The specialty ("oncology", ...).</param>
/// <param name="HeldBy">The hospitals whose private data is of this specialty (empty when none, e.g. IID shards hold every specialty).</param>
public sealed record SpecialtyEval(string Specialty, IReadOnlyList<string> HeldBy, EvalMetrics Eval);

/// <summary>
/// One arm's final model scored on the whole held-out evaluation split and on each specialty's part of it, so a
/// hospital's local-only model is also scored on the other hospitals' specialties.
/// </summary>
/// <param name="Arm">"base", "federated", "centralized" or "local-only".</param>
/// <param name="Label">What the tables show, e.g. "local-only hospital-1".</param>
/// <param name="All">The whole evaluation split (token-weighted over the specialties).</param>
public sealed record ArmScore(string Arm, string Label, EvalMetrics All, IReadOnlyList<SpecialtyEval> BySpecialty);

/// <summary>One model's greedy answer to a question.</summary>
public sealed record ModelAnswer(string Label, string Answer);

/// <summary>A held-out medical question, its reference answer, and what each compared model answers (greedy, short).</summary>
public sealed record QuestionAnswers(string Specialty, string Question, string Reference, IReadOnlyList<ModelAnswer> Answers);

/// <summary>Folders the run exported, relative to the report folder.</summary>
public sealed record RunArtifacts
{
    /// <summary>The final global LoRA adapter in PEFT layout.</summary>
    public string? AdapterDirectory { get; init; }

    /// <summary>The base model with the adapter merged, in Hugging Face layout.</summary>
    public string? MergedModelDirectory { get; init; }
}

/// <summary>
/// The federation with differential privacy a simulation ran beside the plain one (<c>--dp</c>): the same hospitals,
/// data, recipe and seed plus DP, its rounds kept apart from the plain federation's.
/// </summary>
public sealed record PrivateFederationReport
{
    /// <summary>Its own orchestration's run id.</summary>
    public required string RunId { get; init; }

    /// <summary>The DP it ran with, in words (levels and parameters).</summary>
    public required string Privacy { get; init; }

    public IReadOnlyList<RoundReport> Rounds { get; init; } = [];

    /// <summary>Adapter parameters each hospital trained under DP (the noise is added to each of them); null before the arm finished.</summary>
    public long? TrainedParameters { get; init; }

    /// <summary>The ε its final model carries: the last round's record-level ε, else its hospital-level ε.</summary>
    [JsonIgnore]
    public double? FinalEpsilon => Rounds.Count == 0 ? null : Rounds[^1].Epsilon;

    /// <summary>The held-out metrics of its last scored round.</summary>
    [JsonIgnore]
    public EvalMetrics? FinalEval => Rounds.LastOrDefault(r => r.GlobalEval is not null)?.GlobalEval;
}

/// <summary>Everything a run's report folder says: written after every round and at the end.</summary>
public sealed record RunReport
{
    public required string RunId { get; init; }
    public required DateTimeOffset StartedUtc { get; init; }
    public DateTimeOffset? FinishedUtc { get; init; }
    public required RunOutcome Outcome { get; init; }
    public string? FailureMessage { get; init; }

    /// <summary>
    /// Set when --audit was asked for and the privacy audit failed after the federation completed: the run's results
    /// stay complete and valid (Outcome is still Completed); the audit can be retried alone with fedtune privacy-audit.
    /// </summary>
    public string? AuditFailure { get; init; }
    public required RunSettings Settings { get; init; }
    public required BaseModelInfo BaseModel { get; init; }

    /// <summary>The base model (no adapter) on the held-out evaluation split: the bar the federation must beat.</summary>
    public EvalMetrics? BaseEval { get; init; }

    public IReadOnlyList<RoundReport> Rounds { get; init; } = [];
    public IReadOnlyList<BaselineCurve> Baselines { get; init; } = [];

    /// <summary>The federation with DP (<c>--dp</c>), or null when the run had none.</summary>
    public PrivateFederationReport? PrivateFederation { get; init; }

    /// <summary>Every arm's final model on the whole held-out split and per specialty (base first, then federated, centralized, local-only).</summary>
    public IReadOnlyList<ArmScore> ArmScores { get; init; } = [];

    /// <summary>The same held-out questions answered by the base, federated, one local-only and the centralized model.</summary>
    public IReadOnlyList<QuestionAnswers> Answers { get; init; } = [];
    public RunArtifacts Artifacts { get; init; } = new();

    /// <summary>Extra markdown sections other parts add (e.g. the privacy audit), in order.</summary>
    public IReadOnlyList<ReportSection> ExtraSections { get; init; } = [];

    [JsonIgnore]
    /// <summary>The last round's global held-out metrics, or null before the first round.</summary>
    public EvalMetrics? FinalGlobalEval => Rounds.LastOrDefault(r => r.GlobalEval is not null)?.GlobalEval;

    [JsonIgnore]
    /// <summary>Wall-clock seconds from start to finish (or to now, while running).</summary>
    public double ElapsedSeconds => ((FinishedUtc ?? DateTimeOffset.UtcNow) - StartedUtc).TotalSeconds;
}

/// <summary>A titled markdown section appended to report.md (plots are paths relative to the report folder).</summary>
public sealed record ReportSection(string Title, string Markdown);
