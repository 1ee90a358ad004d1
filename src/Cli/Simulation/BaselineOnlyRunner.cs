using FedTune.Cli.Reporting;
using FedTune.Core.Configuration;
using FedTune.Core.Data;

namespace FedTune.Cli.Simulation;

/// <summary>Which baseline `fedtune centralized` / `fedtune local-only` trains.</summary>
public enum BaselineArm
{
    Centralized,
    LocalOnly,
}

/// <summary>
/// `fedtune centralized` and `fedtune local-only` on their own: the same split, base model, LoRA settings and step budget a
/// `fedtune simulate` with the same options would use (see <see cref="BaselineRunner"/>), without the federation.
/// Writes a report folder with the base model's and the baseline's held-out figures.
/// </summary>
public static class BaselineOnlyRunner
{
    public static RunReport Run(SimulationOptions options, BaselineArm arm, SimulationStatus status, Action<string> say, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(status);
        var folder = new RunFolder(options.OutputDirectory ?? Path.Combine(Directory.GetCurrentDirectory(), "runs", arm == BaselineArm.Centralized ? "centralized" : "local-only"));
        var config = options.ConfigPath is null ? null : FedTuneConfigLoader.LoadFile(options.ConfigPath);
        var dataFile = options.DataPath is null && config is not null
            ? DatasetFile.Resolve(config.Dataset.Name)
            : SimulationData.ResolveDataFile(options.DataPath);
        var baseModel = BaseModelResolver.Resolve(options.ModelPath, config, dataFile, options.Seed, say, cancellationToken);
        folder.Clear();
        Directory.CreateDirectory(folder.Path);
        var started = DateTimeOffset.UtcNow;
        status.SetStage("splitting the data");
        var files = SimulationData.Prepare(options, dataFile, folder.DataDirectory).Files;
        var hospitalIds = SimulationData.HospitalIds(options.Hospitals);
        var plan = SimulationPlanFactory.Build(config ?? SimulationPlanFactory.DefaultConfig(options), options, "baseline-run", hospitalIds, baseModel.Name, baseModel.Path);

        List<BaselineCurve> curves = [];
        EvalMetrics baseEval;
        using (var session = LanguageModelSession.Load(baseModel.Path, options.SeqLength))
        {
            var eval = HeldOutBySpecialty.Ungrouped(session.Tokenize(new AlpacaDatasetReader().ReadAll(files.EvaluationPath)));
            status.SetStage("scoring the base model");
            baseEval = eval.Score(session, "base", "base model", cancellationToken).All;
            status.SetBaseEval(baseEval);
            var reader = new AlpacaDatasetReader();
            var shards = files.Hospitals.Select(h => (h.Name, Records: reader.ReadAll(h.TrainPath))).ToList();
            if (arm == BaselineArm.Centralized)
            {
                curves.Add(BaselineRunner.Centralized(baseModel.Path, options.SeqLength, shards.SelectMany(s => s.Records).ToList(), eval, options.Rounds,
                    options.MaxSteps * shards.Count, plan.Recipe, options.Seed, status, cancellationToken));
            }
            else
            {
                foreach (var (name, records) in shards)
                {
                    curves.Add(BaselineRunner.LocalOnly(baseModel.Path, options.SeqLength, name, records, eval, options.Rounds, options.MaxSteps, plan.Recipe, options.Seed,
                        status, cancellationToken));
                }
            }
        }
        var report = new RunReport
        {
            RunId = (arm == BaselineArm.Centralized ? "centralized-" : "local-only-") + started.ToString("yyyyMMdd-HHmmss", System.Globalization.CultureInfo.InvariantCulture),
            StartedUtc = started,
            FinishedUtc = DateTimeOffset.UtcNow,
            Outcome = RunOutcome.Completed,
            Settings = new RunSettings
            {
                Hospitals = options.Hospitals, Rounds = options.Rounds, MaxStepsPerRound = options.MaxSteps, SeqLength = options.SeqLength,
                BatchSize = options.BatchSize, LearningRate = options.LearningRate, Partitioning = options.PartitioningLabel,
                Seed = options.Seed, EvalExamples = options.EvalExamples, DataPath = dataFile, Strategy = "none (" + (arm == BaselineArm.Centralized ? "centralized" : "local-only") + ")",
                ConfigPath = options.ConfigPath,
            },
            BaseModel = baseModel,
            BaseEval = baseEval,
            Baselines = curves,
        };
        ReportFolder.Write(report, folder.Path);
        return report;
    }
}
