using FedTune.Cli.Reporting;
using FedTune.ClientAgent.Status;
using FedTune.Core.Adapters;
using FedTune.Core.Configuration;
using FedTune.Core.Data;
using FedTune.Core.Protocol;
using FedTune.Core.Storage;
using FedTune.Orchestration.Local;
using FedTune.Orchestration.Plans;

namespace FedTune.Cli.Simulation;

/// <summary>
/// `fedtune simulate`: a whole federation on this machine. Splits the data into hospitals and a held-out split, starts
/// Azurite (unless storage is given), the local Durable orchestrator host and one real agent process per hospital,
/// runs the rounds through the real orchestration and Blob protocol, scores every round's global adapter on the
/// held-out split, optionally trains the centralized and local-only baselines on the same splits, exports the final
/// adapter and merged model, and writes the report folder. Everything it started is stopped on the way out.
/// </summary>
public sealed class SimulationRunner(SimulationOptions options, SimulationStatus status, Action<string> say)
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);

    /// <summary>Waits out storage outages (and restarts the private Azurite) for every storage call of the run.</summary>
    private StorageOutageGuard _storage = new(null, options.StorageOutageLimit, say);

    /// <summary>The federation's (epsilon, delta) privacy spent so far, when it runs with client-level DP.</summary>

    /// <summary>Runs the simulation; returns the final report (its outcome says whether it completed).</summary>
    public async Task<RunReport> RunAsync(CancellationToken cancellationToken)
    {
        var folder = new RunFolder(RunDirectory(options));
        var config = options.ConfigPath is null ? null : FedTuneConfigLoader.LoadFile(options.ConfigPath);
        foreach (var notice in config?.KeysWithoutEffect ?? []) say("Note: " + notice);
        var dataFile = SimulationData.ResolveDataFile(options.DataPath);

        status.SetStage("resolving the base model");
        var baseModel = BaseModelResolver.Resolve(options.ModelPath, config, dataFile, options.Seed, say, cancellationToken);
        var fingerprint = RunFolder.Fingerprint(options, dataFile, baseModel.Path);
        var decision = ResumePolicy.Decide(options.Resume, folder.ReadState(), fingerprint, NewRunId);
        say($"Run {decision.RunId} in {folder.Path}: {decision.Reason}");
        if (!decision.Resume) folder.Clear();
        Directory.CreateDirectory(folder.Path);

        var started = decision.Resume ? folder.ReadState()!.StartedUtc : DateTimeOffset.UtcNow;
        var hospitalIds = SimulationData.HospitalIds(options.Hospitals);
        var report = new RunReport
        {
            RunId = decision.RunId,
            StartedUtc = started,
            Outcome = RunOutcome.Running,
            Settings = Settings(dataFile, config),
            BaseModel = baseModel,
        };
        folder.WriteState(new RunState { RunId = decision.RunId, SettingsFingerprint = fingerprint, Outcome = RunOutcome.Running, StartedUtc = started });

        try
        {
            report = await RunFederationAsync(folder, config, dataFile, report, hospitalIds, cancellationToken).ConfigureAwait(false);
            report = report with { Outcome = RunOutcome.Completed, FinishedUtc = DateTimeOffset.UtcNow };
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            report = report with
            {
                Outcome = RunOutcome.Cancelled,
                FinishedUtc = DateTimeOffset.UtcNow,
                FailureMessage = "stopped by the user; run the same command again to resume (or add --fresh to start over)",
            };
        }
        catch (Exception e) when (e is InvalidOperationException or InvalidDataException or IOException or ArgumentException
                                      or FedTune.Core.Protocol.ContentHashMismatchException or Azure.RequestFailedException
                                      or AggregateException or HttpRequestException or StorageUnavailableException)
        {
            report = report with { Outcome = RunOutcome.Failed, FinishedUtc = DateTimeOffset.UtcNow, FailureMessage = RunFailure.Describe(e, folder, options) };
        }
        folder.WriteState(new RunState { RunId = decision.RunId, SettingsFingerprint = fingerprint, Outcome = report.Outcome, StartedUtc = started });
        ReportFolder.Write(report, folder.Path);
        return report;
    }

    /// <summary>The run folder: --out, else runs/simulate in the current folder.</summary>
    public static string RunDirectory(SimulationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.OutputDirectory ?? Path.Combine(Directory.GetCurrentDirectory(), "runs", "simulate");
    }

    private async Task<RunReport> RunFederationAsync(RunFolder folder, FedTuneConfig? config, string dataFile, RunReport report,
        IReadOnlyList<string> hospitalIds, CancellationToken cancellationToken)
    {
        status.SetStage("splitting the data");
        var canaries = SimulationAuditWiring.CreateCanaries(options);
        var files = SimulationData.Prepare(options, dataFile, folder.DataDirectory, canaries);
        if (canaries is not null)
        {
            canaries.Save(Path.Combine(folder.Path, FedTune.Core.Privacy.CanarySet.FileName));
            say($"Canaries: {canaries.Canaries.Count} fake patient records planted in {files.Hospitals[canaries.Options.HospitalIndex].Name}'s training shard ({FedTune.Core.Privacy.CanarySet.FileName})");
        }
        say($"Data: {dataFile} split into {files.Hospitals.Count} hospitals ({string.Join(", ", files.Hospitals.Select(h => $"{h.Name}: {h.TrainCount} train + {h.HeldOutCount} held out"))}) " +
            $"and {options.EvalExamples} held-out evaluation records ({(options.NonIid ? "non-IID by topic" : "IID")}, seed {options.Seed}); shards in {folder.DataDirectory}");

        status.SetStage("scoring the base model on the held-out split");
        using var session = LanguageModelSession.Load(report.BaseModel.Path, options.SeqLength);
        if (canaries is not null) SimulationAuditWiring.RequireCanariesFit(canaries, session.Examples);
        var evalExamples = session.Tokenize(new AlpacaDatasetReader().ReadAll(files.EvaluationPath));
        var baseEval = session.Evaluate(evalExamples, cancellationToken);
        status.SetBaseEval(baseEval);
        report = report with { BaseEval = baseEval };
        ReportFolder.Write(report, folder.Path);

        var plan = SimulationPlanFactory.Build(config ?? SimulationPlanFactory.DefaultConfig(options), options, report.RunId, hospitalIds, report.BaseModel.Name, report.BaseModel.Path);

        AzuriteProcess? azurite = null;
        try
        {
            string connection;
            if (options.StorageConnectionString is { } given)
            {
                connection = given;
                say("Storage: the given connection string");
            }
            else
            {
                status.SetStage("starting Azurite");
                azurite = await AzuriteProcess.StartAsync(folder.AzuriteDirectory, cancellationToken: cancellationToken).ConfigureAwait(false);
                connection = azurite.ConnectionString;
                _storage = new StorageOutageGuard(azurite, options.StorageOutageLimit, say);
                say($"Storage: a private Azurite on 127.0.0.1:{azurite.BlobPort} (data in {folder.AzuriteDirectory})");
            }

            status.SetStage("starting the orchestrator");
            await _storage.RunAsync(ct => StorageProbe.CheckAsync(connection, ct), "checking storage", cancellationToken).ConfigureAwait(false);
            await using var host = await _storage.RunAsync(ct => LocalOrchestratorHost.StartAsync(connection, new LocalOrchestratorOptions { TaskHubName = "fedtunesim" },
                ct), "starting the orchestrator", cancellationToken).ConfigureAwait(false);
            say($"Orchestrator: local Durable Task host, operator API at {host.ApiBaseUrl}");
            var existing = await _storage.RunAsync(ct => host.Operator.FindRunAsync(plan.RunId, ct), "looking up the run", cancellationToken).ConfigureAwait(false);
            if (existing is null)
            {
                var started = await _storage.RunAsync(ct => host.Operator.StartPlanAsync(plan, ct), "starting the run", cancellationToken).ConfigureAwait(false);
                if (started.StatusCode >= 300)
                {
                    throw new InvalidOperationException($"The orchestrator refused the run ({started.StatusCode}): {System.Text.Encoding.UTF8.GetString(started.Body ?? [])}");
                }
            }
            else
            {
                say($"Resuming run {plan.RunId}: the orchestration is {existing.RuntimeStatus}");
            }

            say($"Dashboard: {new Uri(host.ApiBaseUrl!, FedTune.Orchestration.Api.OperatorRoutes.DashboardOf(plan.RunId))} (live while the federation runs)");
            await StoredEvaluations.SaveSetupAsync(host.Store, report, cancellationToken).ConfigureAwait(false);

            status.SetStage("starting the hospital agents");
            status.SetHospitals(hospitalIds, plan.Rounds);
            await using var fleet = new AgentFleet();
            fleet.Start(files.Hospitals, connection, report.BaseModel.Path, report.BaseModel.Name, folder);
            say($"Agents: {files.Hospitals.Count} agent processes (logs in {folder.AgentsDirectory}/<hospital>/agent.log)");

            report = await FollowRoundsAsync(host, fleet, session, evalExamples, plan, folder, report, cancellationToken).ConfigureAwait(false);

            status.SetStage("stopping the agents");
        }
        finally
        {
            azurite?.Dispose();
        }

        status.SetStage("exporting the final model");
        var finalAdapter = LanguageModelSession.ReadAdapter(FinalAdapterFile(folder, plan.Rounds));
        session.Export(finalAdapter, folder.AdapterDirectory, folder.MergedModelDirectory);
        report = report with
        {
            Artifacts = new RunArtifacts
            {
                AdapterDirectory = Path.GetFileName(folder.AdapterDirectory),
                MergedModelDirectory = Path.GetFileName(folder.MergedModelDirectory),
            },
        };
        say($"Final global adapter (PEFT): {folder.AdapterDirectory}; merged model (Hugging Face layout): {folder.MergedModelDirectory}");

        if (options.Compare)
        {
            report = report with { Baselines = RunBaselines(report.BaseModel.Path, files, evalExamples, plan, folder, cancellationToken) };
        }

        var auditInputs = SimulationAuditWiring.Describe(folder, report.BaseModel.Path, files, report.Rounds,
            withBaselines: options.Compare);
        say($"Privacy audit inputs: {SimulationAuditWiring.Save(auditInputs, folder)} (fedtune privacy-audit --run {folder.Path})");
        if (options.Audit)
        {
            status.SetStage("privacy audit: membership inference and canary exposure");
            ReportFolder.Write(report, folder.Path);
            try
            {
                var section = await SimulationAuditWiring.RunAsync(auditInputs, folder, options, say, cancellationToken).ConfigureAwait(false);
                report = report with { ExtraSections = [.. report.ExtraSections, section] };
                say($"Privacy audit: {folder.PrivacyDirectory}");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException or InvalidOperationException or ArgumentException)
            {
                // The federation's results are complete and already on disk: an audit failure must not turn them into a failed run.
                report = report with
                {
                    AuditFailure = e.Message,
                    ExtraSections = [.. report.ExtraSections, SimulationAuditWiring.FailureSection(e.Message, folder)],
                };
                say($"Privacy audit failed: {e.Message}");
            }
        }
        return report;
    }

    private async Task<RunReport> FollowRoundsAsync(LocalOrchestratorHost host, AgentFleet fleet, LanguageModelSession session,
        IReadOnlyList<FedTune.Training.Data.TokenizedExample> evalExamples, FederationPlan plan, RunFolder folder, RunReport report,
        CancellationToken cancellationToken)
    {
        var collector = new RoundCollector(host.Store, plan.RunId);
        var rounds = new List<RoundReport>();
        int next = 1;
        long previousGlobalBytes = 0;
        status.StartRound(1);
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (fleet.FindExited() is { } exited)
            {
                throw new InvalidOperationException(
                    $"The agent of {exited.HospitalId} stopped ({exited.How}; its last line: {exited.LastLine}; log: {exited.LogPath})");
            }
            ShowAgents(fleet.ReadStatuses(), plan.RunId, next);
            await _storage.RestartAzuriteIfStoppedAsync(cancellationToken).ConfigureAwait(false);

            while (next <= plan.Rounds &&
                   await _storage.RunAsync(ct => collector.TryReadAsync(next, ct), "reading the round results", cancellationToken).ConfigureAwait(false) is { } record)
            {
                var adapter = await _storage.RunAsync(ct => collector.ReadGlobalAdapterAsync(record, ct), "reading the global adapter", cancellationToken).ConfigureAwait(false);
                SaveRoundAdapter(folder, record.Round, adapter);
                session.UseAdapter(adapter);
                var global = session.Evaluate(evalExamples, cancellationToken);
                await _storage.RunAsync(ct => StoredEvaluations.SaveAsync(host.Store, plan.RunId, record.Round, record.GlobalAdapter?.Sha256, global, ct), "saving the round's evaluation", cancellationToken)
                    .ConfigureAwait(false);
                var row = await _storage.RunAsync(ct => collector.ToReportAsync(record, previousGlobalBytes, global, ct), "reading the round results", cancellationToken)
                    .ConfigureAwait(false);
                previousGlobalBytes = record.GlobalAdapter?.Bytes ?? previousGlobalBytes;
                foreach (var h in row.Hospitals) status.SetHospital(h.HospitalId, h.State, h.TrainLoss);
                status.FinishRound(record.Round, global);
                rounds.Add(row);
                report = report with { Rounds = [.. rounds] };
                ReportFolder.Write(report, folder.Path);
                next++;
                if (next <= plan.Rounds) status.StartRound(next);
            }

            var view = await _storage.RunAsync(ct => host.Operator.FindRunAsync(plan.RunId, ct), "following the run", cancellationToken).ConfigureAwait(false);
            if (next > plan.Rounds) return report;
            if (view is { RuntimeStatus: "failed" or "terminated" or "canceled" })
            {
                throw new InvalidOperationException($"The federation run {plan.RunId} {view.RuntimeStatus}: {view.Failure ?? view.Status?.Message ?? "no reason given"}");
            }
            if (view is { RuntimeStatus: "completed" } && next <= plan.Rounds)
            {
                throw new InvalidOperationException($"The federation run {plan.RunId} completed after {next - 1} of {plan.Rounds} rounds.");
            }
            await Task.Delay(PollInterval, cancellationToken).ConfigureAwait(false);
        }
    }

    private void ShowAgents(IReadOnlyDictionary<string, AgentStatus?> statuses, string runId, int round)
    {
        foreach (var (id, s) in statuses)
        {
            if (s is null || s.RunId != runId || s.Round != round) continue;
            var state = s.Activity switch
            {
                AgentActivity.Downloading or AgentActivity.Training or AgentActivity.Evaluating => HospitalRoundState.Training,
                AgentActivity.Uploading => HospitalRoundState.Training,
                _ => s.TasksCompleted > 0 ? HospitalRoundState.Uploaded : HospitalRoundState.Waiting,
            };
            if (s.Activity == AgentActivity.Idle && s.LastError is null) state = HospitalRoundState.Uploaded;
            // The live step loss belongs to training; an upload's loss is the round record's (one value per hospital and round).
            status.SetHospital(id, state, state == HospitalRoundState.Training ? s.LastLoss : null);
        }
    }

    private static void SaveRoundAdapter(RunFolder folder, int round, LoraAdapter adapter)
    {
        Directory.CreateDirectory(folder.RoundAdaptersDirectory);
        var file = RoundAdapterFile(folder, round);
        var temp = file + ".tmp";
        File.WriteAllBytes(temp, AdapterWireFormat.ToBytes(adapter));
        File.Move(temp, file, overwrite: true);
    }

    /// <summary>Where round <paramref name="round"/>'s global adapter is kept (wire format).</summary>
    internal static string RoundAdapterFile(RunFolder folder, int round) =>
        Path.Combine(folder.RoundAdaptersDirectory, FormattableString.Invariant($"round-{round:D4}.bin"));

    private static string FinalAdapterFile(RunFolder folder, int rounds) => RoundAdapterFile(folder, rounds);

    private List<BaselineCurve> RunBaselines(string modelFolder, PartitionedDatasetFiles files,
        IReadOnlyList<FedTune.Training.Data.TokenizedExample> evalExamples, FederationPlan plan, RunFolder folder, CancellationToken cancellationToken)
    {
        var reader = new AlpacaDatasetReader();
        var shards = files.Hospitals.Select(h => (h.Name, Records: reader.ReadAll(h.TrainPath))).ToList();
        var curves = new List<BaselineCurve>
        {
            BaselineRunner.Centralized(modelFolder, options.SeqLength, shards.SelectMany(s => s.Records).ToList(), evalExamples, plan.Rounds,
                options.MaxSteps * shards.Count, plan.Recipe, options.Seed, status, cancellationToken, SimulationAuditWiring.CentralizedAdapterDirectory(folder)),
        };
        foreach (var (name, records) in shards)
        {
            curves.Add(BaselineRunner.LocalOnly(modelFolder, options.SeqLength, name, records, evalExamples, plan.Rounds, options.MaxSteps, plan.Recipe, options.Seed,
                status, cancellationToken, SimulationAuditWiring.LocalOnlyAdapterDirectory(folder, name)));
        }
        return curves;
    }

    private RunSettings Settings(string dataFile, FedTuneConfig? config) => new()
    {
        Hospitals = options.Hospitals,
        Rounds = options.Rounds,
        MaxStepsPerRound = options.MaxSteps,
        SeqLength = options.SeqLength,
        BatchSize = options.BatchSize,
        LearningRate = options.LearningRate,
        Partitioning = options.NonIid ? "non-IID (by topic)" : "IID",
        Seed = options.Seed,
        EvalExamples = options.EvalExamples,
        DataPath = dataFile,
        Strategy = config?.Federation.Strategy.Name.ToString().ToLowerInvariant() ?? "fedavg",
        ConfigPath = options.ConfigPath,
    };

    private static string NewRunId() =>
        FormattableString.Invariant($"sim-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Guid.NewGuid().ToString("N")[..6]}");
}
