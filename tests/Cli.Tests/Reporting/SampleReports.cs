using FedTune.Cli.Reporting;

namespace FedTune.Cli.Tests.Reporting;

/// <summary>Run reports with known figures for the writer tests.</summary>
internal static class SampleReports
{
    public static RunReport TwoHospitalsThreeRounds() => new()
    {
        RunId = "run-test",
        StartedUtc = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero),
        FinishedUtc = new DateTimeOffset(2026, 1, 2, 3, 9, 5, TimeSpan.Zero),
        Outcome = RunOutcome.Completed,
        Settings = new RunSettings
        {
            Hospitals = 2, Rounds = 3, MaxStepsPerRound = 5, SeqLength = 128, BatchSize = 4, LearningRate = 5e-4,
            Partitioning = "iid", Seed = 7, EvalExamples = 64, DataPath = "/data/x.json", Strategy = "fedavg",
        },
        BaseModel = new BaseModelInfo("embedded default", "embedded", "/cache/base"),
        BaseEval = EvalMetrics.FromNll(1000, 4.0),
        Rounds = Enumerable.Range(1, 3).Select(r => new RoundReport
        {
            Round = r,
            DurationSeconds = 30 + r,
            GlobalEval = EvalMetrics.FromNll(1000, 4.0 - 0.2 * r),
            Hospitals =
            [
                new HospitalRoundReport
                {
                    HospitalId = "hospital-1", State = HospitalRoundState.Uploaded, TrainLoss = 3.5 - 0.1 * r, EvalNll = 3.6 - 0.1 * r,
                    EvalPerplexity = Math.Exp(3.6 - 0.1 * r), TrainExamples = 20, EvalExamples = 5, BytesUp = 1 << 20, BytesDown = 1 << 20,
                    TrainSeconds = 12.5,
                },
                new HospitalRoundReport
                {
                    HospitalId = "hospital,2", State = r == 2 ? HospitalRoundState.Rejected : HospitalRoundState.Uploaded,
                    TrainLoss = r == 2 ? null : 3.4 - 0.1 * r, TrainExamples = 20, EvalExamples = 5, BytesUp = 1 << 19, BytesDown = 1 << 20,
                    RejectionReason = r == 2 ? "update norm 9.1 exceeds 3 x median" : null,
                },
            ],
        }).ToList(),
        Baselines =
        [
            new BaselineCurve("centralized", "centralized", [new BaselinePoint(1, 10, EvalMetrics.FromNll(1000, 3.7)), new BaselinePoint(3, 30, EvalMetrics.FromNll(1000, 3.3))]),
            new BaselineCurve("local-only", "local-only hospital-1", [new BaselinePoint(3, 15, EvalMetrics.FromNll(1000, 3.8))]),
        ],
        Artifacts = new RunArtifacts { AdapterDirectory = "global-adapter", MergedModelDirectory = "merged-model" },
    };
}
