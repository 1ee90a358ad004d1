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

    /// <summary>Runs the simulation; returns the final report (its outcome says whether it completed).</summary>
    public async Task<RunReport> RunAsync(CancellationToken cancellationToken)
    {
        var folder = new RunFolder(RunDirectory(options));
        var config = options.ConfigPath is null ? null : FedTuneConfigLoader.LoadFile(options.ConfigPath);
        foreach (var notice in config?.KeysWithoutEffect ?? []) say("Note: " + notice);
        var dataFile = options.DataPath is null && config is not null
            ? DatasetFile.Resolve(config.Dataset.Name)
            : SimulationData.ResolveDataFile(options.DataPath);
        if (config is not null) say($"Data: dataset.name '{config.Dataset.Name}' → {(options.DataPath is null ? dataFile : "not used: --data " + dataFile)}");

        status.SetStage("resolving the base model");
        var baseModel = BaseModelResolver.Resolve(options.ModelPath, config, dataFile, options.Seed, say, cancellationToken);
        var fingerprint = RunFolder.Fingerprint(options, dataFile, baseModel.Path);
        var decision = ResumePolicy.Decide(options.Resume, folder.ReadState(), fingerprint, NewRunId);
        say($"Run {decision.RunId} in {folder.Path}: {decision.Reason}");
        if (!decision.Resume) folder.Clear();
        Directory.CreateDirectory(folder.Path);

        var started = decision.Resume ? folder.ReadState()!.StartedUtc : DateTimeOffset.UtcNow;
        var report = new LiveReport(new RunReport
        {
            RunId = decision.RunId,
            StartedUtc = started,
            Outcome = RunOutcome.Running,
            Settings = Settings(dataFile, config),
            BaseModel = baseModel,
        }, folder.Path);
        folder.WriteState(new RunState { RunId = decision.RunId, SettingsFingerprint = fingerprint, Outcome = RunOutcome.Running, StartedUtc = started });

        try
        {
            await RunStepsAsync(folder, config, report, cancellationToken).ConfigureAwait(false);
            report.Set(r => r with { Outcome = RunOutcome.Completed, FinishedUtc = DateTimeOffset.UtcNow });
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            report.Set(r => r with
            {
                Outcome = RunOutcome.Cancelled,
                FinishedUtc = DateTimeOffset.UtcNow,
                FailureMessage = "stopped by the user; run the same command again to resume (or add --fresh to start over)",
            });
        }
        catch (Exception e) when (e is InvalidOperationException or InvalidDataException or IOException or ArgumentException
                                      or FedTune.Core.Protocol.ContentHashMismatchException or Azure.RequestFailedException
                                      or AggregateException or HttpRequestException or StorageUnavailableException)
        {
            report.Set(r => r with { Outcome = RunOutcome.Failed, FinishedUtc = DateTimeOffset.UtcNow, FailureMessage = RunFailure.Describe(e, folder, options) });
        }
        folder.WriteState(new RunState { RunId = decision.RunId, SettingsFingerprint = fingerprint, Outcome = report.Current.Outcome, StartedUtc = started });
        ReportFolder.Write(report.Current, folder.Path);
        return report.Current;
    }

    /// <summary>The run folder: --out, else runs/simulate in the current folder.</summary>
    public static string RunDirectory(SimulationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.OutputDirectory ?? Path.Combine(Directory.GetCurrentDirectory(), "runs", "simulate");
    }

    /// <summary>
    /// The simulation's steps, in order. Each is one method below; each adds what it found to <paramref name="report"/>,
    /// which rewrites the report folder, so a run stopped at any step leaves a report of everything before it.
    /// </summary>
    private async Task RunStepsAsync(RunFolder folder, FedTuneConfig? config, LiveReport report, CancellationToken cancellationToken)
    {
        var data = SplitData(folder, report.Current.Settings.DataPath);
        using var session = LanguageModelSession.Load(report.Current.BaseModel.Path, options.SeqLength);
        var heldOut = ScoreBaseModel(session, data, report, cancellationToken);
        var arms = PlanArms(folder, config, report);
        await FederateAsync(folder, arms, data, session, heldOut.BySpecialty, report, cancellationToken).ConfigureAwait(false);
        var plan = arms[0].Plan;
        var federated = ExportFinalModel(folder, plan, session, report);
        var privateModel = arms.Count > 1 ? ExportPrivateModel(folder, arms[1], report) : null;
        var baselines = options.Compare ? TrainBaselines(folder, plan, data.Files, heldOut.BySpecialty, report, cancellationToken) : [];
        CompareArms(session, heldOut, federated, privateModel, baselines, report, cancellationToken);
        await AuditPrivacyAsync(folder, data.Files, report, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// One federation a simulation runs on its storage, orchestrator and agents: the plain one, then the one with DP
    /// when asked for (<see cref="PrivateArm"/>), each with its own run id and round checkpoints, and its rounds
    /// recorded in its own part of the report.
    /// </summary>
    /// <param name="Stage">The status stage shown when it starts (null: it starts with the agents, under theirs).</param>
    /// <param name="DashboardLine">What the line with its dashboard's address starts with.</param>
    private sealed record FederationArm(string Name, string Label, FederationPlan Plan, string RoundAdaptersDirectory,
        Action<LiveReport, RoundReport> Record, string? Stage, string DashboardLine);

    /// <summary>The plain federation's plan, and the DP federation's when --dp or the YAML asks for it.</summary>
    private List<FederationArm> PlanArms(RunFolder folder, FedTuneConfig? config, LiveReport report)
    {
        var (plainConfig, privateConfig) = PrivateArm.Split(config ?? SimulationPlanFactory.DefaultConfig(options), options.Dp);
        var hospitals = SimulationData.HospitalIds(options.Hospitals);
        var baseModel = report.Current.BaseModel;
        var arms = new List<FederationArm>
        {
            new("federated", "federated", SimulationPlanFactory.Build(plainConfig, options, report.Current.RunId, hospitals, baseModel.Name, baseModel.Path),
                folder.RoundAdaptersDirectory, (live, row) => live.Update(r => r with { Rounds = [.. r.Rounds.Where(x => x.Round != row.Round), row] }),
                Stage: null, DashboardLine: "Dashboard: "),
        };
        if (privateConfig is null) return arms;
        var privateRunId = report.Current.RunId + PrivateArm.RunIdSuffix;
        var privacy = PrivateArm.Describe(privateConfig);
        report.Update(r => r with { PrivateFederation = r.PrivateFederation ?? new PrivateFederationReport { RunId = privateRunId, Privacy = privacy } });
        say($"DP arm: a second federation ({privateRunId}) with {privacy}");
        arms.Add(new(PrivateArm.Name, PrivateArm.Label, SimulationPlanFactory.Build(privateConfig, options, privateRunId, hospitals, baseModel.Name, baseModel.Path),
            folder.PrivateRoundAdaptersDirectory, (live, row) => live.Update(r => r with
            {
                PrivateFederation = r.PrivateFederation! with { Rounds = [.. r.PrivateFederation.Rounds.Where(x => x.Round != row.Round), row] },
            }), Stage: $"{PrivateArm.Label}: the same federation with differential privacy", DashboardLine: $"Dashboard of the {PrivateArm.Label} arm: "));
        return arms;
    }

    /// <summary>The held-out evaluation split, tokenized, and grouped by specialty for the arm comparison.</summary>
    private sealed record HeldOut(HeldOutBySpecialty BySpecialty,
        IReadOnlyList<(MedicalSpecialty Specialty, AlpacaRecord Record)> Questions);

    /// <summary>Step 1: splits the data into hospitals' shards and the held-out split (planting canaries when asked).</summary>
    private PreparedData SplitData(RunFolder folder, string dataFile)
    {
        status.SetStage("splitting the data");
        var canaries = SimulationAuditWiring.CreateCanaries(options);
        var data = SimulationData.Prepare(options, dataFile, folder.DataDirectory, canaries);
        var files = data.Files;
        if (canaries is not null)
        {
            canaries.Save(Path.Combine(folder.Path, FedTune.Core.Privacy.CanarySet.FileName));
            say($"Canaries: {canaries.Canaries.Count} fake patient records planted in {files.Hospitals[canaries.Options.HospitalIndex].Name}'s training shard ({FedTune.Core.Privacy.CanarySet.FileName})");
        }
        say($"Data: {dataFile} split into {files.Hospitals.Count} hospitals ({string.Join(", ", files.Hospitals.Select(h => $"{h.Name}{SpecialtiesOf(data, h.Name)}: {h.TrainCount} train + {h.HeldOutCount} held out"))}) " +
            $"and {options.EvalExamples} held-out evaluation records ({options.PartitioningLabel}, seed {options.Seed}); shards in {folder.DataDirectory}");
        return data;
    }

    private static string SpecialtiesOf(PreparedData data, string hospital) =>
        data.HospitalSpecialties.TryGetValue(hospital, out var held) && held.Count > 0 ? " (" + string.Join(", ", held.Select(HeldOutBySpecialty.Name)) + ")" : "";

    /// <summary>Step 2: the base model on the held-out split (the bar every arm must beat), overall and per specialty.</summary>
    private HeldOut ScoreBaseModel(LanguageModelSession session, PreparedData data, LiveReport report, CancellationToken cancellationToken)
    {
        status.SetStage("scoring the base model on the held-out split");
        if (data.Canaries is { } canaries) SimulationAuditWiring.RequireCanariesFit(canaries, session.Examples);
        var records = new AlpacaDatasetReader().ReadAll(data.Files.EvaluationPath);
        var examples = session.Tokenize(records);
        var bySpecialty = HeldOutBySpecialty.Create(examples, data.EvaluationSpecialties, data);
        var baseScore = bySpecialty.Score(session, "base", "base model", cancellationToken);
        status.SetBaseEval(baseScore.All);
        report.Update(r => r with { BaseEval = baseScore.All, ArmScores = [baseScore] });
        return new HeldOut(bySpecialty, ArmComparison.PickQuestions(records, data.EvaluationSpecialties));
    }

    /// <summary>
    /// Step 3: storage, the orchestrator and one agent per hospital; runs each arm's federation on them in turn and
    /// follows its rounds until the last is scored.
    /// </summary>
    private async Task FederateAsync(RunFolder folder, IReadOnlyList<FederationArm> arms, PreparedData data, LanguageModelSession session,
        HeldOutBySpecialty heldOut, LiveReport report, CancellationToken cancellationToken)
    {
        AzuriteProcess? azurite = null;
        using var watchAzurite = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Task azuriteWatch = Task.CompletedTask;
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
                azurite = await AzuriteProcess.StartAsync(folder.AzuriteDirectory, cancellationToken: cancellationToken,
                    saveInterval: SimulationDefaults.AzuriteSaveInterval).ConfigureAwait(false);
                connection = azurite.ConnectionString;
                _storage = new StorageOutageGuard(azurite, options.StorageOutageLimit, say);
                azuriteWatch = _storage.WatchAzuriteAsync(SimulationDefaults.AzuriteWatchInterval, watchAzurite.Token);
                say($"Storage: a private Azurite on 127.0.0.1:{azurite.BlobPort} (data in {folder.AzuriteDirectory})");
            }

            status.SetStage("starting the orchestrator");
            await _storage.RunAsync(ct => StorageProbe.CheckAsync(connection, ct), "checking storage", cancellationToken).ConfigureAwait(false);
            // The Durable Task provider's, sidecar's and worker's warnings and errors (what explains a failed run).
            using var hostLogs = FileLoggerProvider.CreateFactory(folder.OrchestratorLogPath);
            await using var host = await _storage.RunAsync(ct => LocalOrchestratorHost.StartAsync(connection,
                new LocalOrchestratorOptions
                {
                    TaskHubName = "fedtunesim", LoggerFactory = hostLogs,
                    UploadWatchInterval = SimulationDefaults.OrchestratorPollInterval, MaxQueuePollingInterval = SimulationDefaults.OrchestratorPollInterval,
                }, ct), "starting the orchestrator", cancellationToken).ConfigureAwait(false);
            say($"Orchestrator: local Durable Task host, operator API at {host.ApiBaseUrl}");

            // The agents first, as hospitals run theirs all the time: round 1's tasks then find them started and polling,
            // so a round's time is training and orchestration, not process start-up.
            status.SetStage("starting the hospital agents");
            status.SetHospitals(arms[0].Plan.Hospitals, arms[0].Plan.Rounds);
            await using var fleet = new AgentFleet();
            fleet.Start(data.Files.Hospitals, connection, report.Current.BaseModel.Path, report.Current.BaseModel.Name, folder);
            say($"Agents: {data.Files.Hospitals.Count} agent processes (logs in {folder.AgentsDirectory}/<hospital>/agent.log)");

            foreach (var arm in arms)
            {
                if (arm.Stage is { } stage)
                {
                    status.SetStage(stage);
                    status.SetHospitals(arm.Plan.Hospitals, arm.Plan.Rounds);
                }
                await StartOrResumeRunAsync(host, arm.Plan, cancellationToken).ConfigureAwait(false);
                say(arm.DashboardLine + $"{new Uri(host.ApiBaseUrl!, FedTune.Orchestration.Api.OperatorRoutes.DashboardOf(arm.Plan.RunId))} (live while the federation runs)");
                await StoredEvaluations.SaveSetupAsync(host.Store, report.Current with { RunId = arm.Plan.RunId }, cancellationToken).ConfigureAwait(false);
                await FollowRoundsAsync(host, fleet, session, heldOut, arm, folder, report, cancellationToken).ConfigureAwait(false);
            }
            status.SetStage("stopping the agents");
        }
        finally
        {
            await watchAzurite.CancelAsync().ConfigureAwait(false);
            await azuriteWatch.ConfigureAwait(false);
            azurite?.Dispose();
        }
    }

    private async Task StartOrResumeRunAsync(LocalOrchestratorHost host, FederationPlan plan, CancellationToken cancellationToken)
    {
        var existing = await _storage.RunAsync(ct => host.Operator.FindRunAsync(plan.RunId, ct), "looking up the run", cancellationToken).ConfigureAwait(false);
        if (existing is not null)
        {
            say($"Resuming run {plan.RunId}: the orchestration is {existing.RuntimeStatus}");
            return;
        }
        var started = await _storage.RunAsync(ct => host.Operator.StartPlanAsync(plan, ct), "starting the run", cancellationToken).ConfigureAwait(false);
        if (started.StatusCode >= 300)
        {
            throw new InvalidOperationException($"The orchestrator refused the run ({started.StatusCode}): {System.Text.Encoding.UTF8.GetString(started.Body ?? [])}");
        }
    }

    /// <summary>Step 4: the final global adapter in PEFT layout and the merged model in Hugging Face layout.</summary>
    private LoraAdapter ExportFinalModel(RunFolder folder, FederationPlan plan, LanguageModelSession session, LiveReport report)
    {
        status.SetStage("exporting the final model");
        var finalAdapter = LanguageModelSession.ReadAdapter(RoundAdapterFile(folder.RoundAdaptersDirectory, plan.Rounds));
        session.Export(finalAdapter, folder.AdapterDirectory, folder.MergedModelDirectory);
        report.Update(r => r with
        {
            Artifacts = new RunArtifacts
            {
                AdapterDirectory = Path.GetFileName(folder.AdapterDirectory),
                MergedModelDirectory = Path.GetFileName(folder.MergedModelDirectory),
            },
        });
        say($"Final global adapter (PEFT): {folder.AdapterDirectory}; merged model (Hugging Face layout): {folder.MergedModelDirectory}");
        return finalAdapter;
    }

    /// <summary>Step 4 for the DP arm: its final global adapter in PEFT layout (for the audit and the user).</summary>
    private LoraAdapter ExportPrivateModel(RunFolder folder, FederationArm arm, LiveReport report)
    {
        var adapter = LanguageModelSession.ReadAdapter(RoundAdapterFile(arm.RoundAdaptersDirectory, arm.Plan.Rounds));
        FedTune.Core.Adapters.PeftAdapterFolder.Save(folder.PrivateAdapterDirectory, adapter);
        long trained = arm.Plan.Recipe.Lora.FreezeA
            ? adapter.Tensors.Where(t => !t.Name.Contains("lora_A", StringComparison.Ordinal)).Sum(t => (long)t.Data.Length)
            : adapter.ParameterCount;
        report.Update(r => r with { PrivateFederation = r.PrivateFederation! with { TrainedParameters = trained } });
        say($"Final global adapter of the DP arm (PEFT): {folder.PrivateAdapterDirectory}");
        return adapter;
    }

    /// <summary>Step 5: the centralized and local-only baselines on the same splits and step budget (their adapters saved for the audit).</summary>
    private List<(BaselineCurve Curve, string AdapterDirectory)> TrainBaselines(RunFolder folder, FederationPlan plan, PartitionedDatasetFiles files,
        HeldOutBySpecialty heldOut, LiveReport report, CancellationToken cancellationToken)
    {
        var reader = new AlpacaDatasetReader();
        var shards = files.Hospitals.Select(h => (h.Name, Records: reader.ReadAll(h.TrainPath))).ToList();
        var trained = new List<(BaselineCurve Curve, string AdapterDirectory)>();
        var central = SimulationAuditWiring.CentralizedAdapterDirectory(folder);
        var reuse = new BaselineRunner.Reuse(options.BaselineCache ?? BaselineCache.Default, BaselineCache.ModelFingerprint(report.Current.BaseModel.Path),
            options.RetrainBaselines, say);
        trained.Add((BaselineRunner.Centralized(report.Current.BaseModel.Path, options.SeqLength, shards.SelectMany(s => s.Records).ToList(), heldOut, plan.Rounds,
            options.MaxSteps * shards.Count, plan.Recipe, options.Seed, status, cancellationToken, central, reuse), central));
        report.Update(r => r with { Baselines = trained.Select(t => t.Curve).ToList() });
        foreach (var (name, records) in shards)
        {
            var local = SimulationAuditWiring.LocalOnlyAdapterDirectory(folder, name);
            trained.Add((BaselineRunner.LocalOnly(report.Current.BaseModel.Path, options.SeqLength, name, records, heldOut, plan.Rounds, options.MaxSteps, plan.Recipe, options.Seed,
                status, cancellationToken, local, reuse), local));
            report.Update(r => r with { Baselines = trained.Select(t => t.Curve).ToList() });
        }
        return trained;
    }

    /// <summary>Step 6: every arm's final model per specialty, and the same questions answered by base, federated, one local-only and centralized.</summary>
    private void CompareArms(LanguageModelSession session, HeldOut heldOut, LoraAdapter federated, LoraAdapter? privateModel,
        IReadOnlyList<(BaselineCurve Curve, string AdapterDirectory)> baselines, LiveReport report, CancellationToken cancellationToken)
    {
        status.SetStage("comparing the arms per specialty and answering three held-out questions");
        var arms = new List<ArmComparison.Arm> { new("base", "base model", null, Answers: true), new("federated", "federated", federated, Answers: true) };
        if (privateModel is not null)
        {
            var epsilon = FedTune.Training.Privacy.PrivacyAuditMarkdown.Epsilon(report.Current.PrivateFederation?.FinalEpsilon);
            arms.Add(new ArmComparison.Arm(PrivateArm.Name, $"{PrivateArm.Label} (ε {epsilon})", privateModel, Answers: true));
        }
        var central = baselines.Where(b => b.Curve.Arm == "centralized").ToList();
        var locals = baselines.Where(b => b.Curve.Arm == "local-only").ToList();
        arms.AddRange(locals.Select((b, i) => new ArmComparison.Arm("local-only", b.Curve.Label, LanguageModelSession.ReadAdapter(b.AdapterDirectory), Answers: i == 0)));
        arms.AddRange(central.Select(b => new ArmComparison.Arm("centralized", b.Curve.Label, LanguageModelSession.ReadAdapter(b.AdapterDirectory), Answers: true)));
        var (scores, answers) = ArmComparison.Run(session, heldOut.BySpecialty, arms, heldOut.Questions, cancellationToken);
        report.Update(r => r with { ArmScores = scores, Answers = answers });
    }

    /// <summary>Step 7: the privacy audit inputs, and (on by default) the audit itself; a failed audit leaves the run's results standing.</summary>
    private async Task AuditPrivacyAsync(RunFolder folder, PartitionedDatasetFiles files, LiveReport report, CancellationToken cancellationToken)
    {
        var auditInputs = SimulationAuditWiring.Describe(folder, report.Current.BaseModel.Path, files, report.Current.Rounds, withBaselines: options.Compare,
            report.Current.PrivateFederation);
        say($"Privacy audit inputs: {SimulationAuditWiring.Save(auditInputs, folder)} (fedtune privacy-audit --run {folder.Path})");
        if (!options.Audit) return;
        status.SetStage("privacy audit: membership inference and canary exposure");
        try
        {
            double passes = (double)options.Rounds * options.MaxSteps * options.BatchSize / Math.Max(1, files.Hospitals.Min(h => h.TrainCount));
            var section = await SimulationAuditWiring.RunAsync(auditInputs, folder, options, say, cancellationToken, passes).ConfigureAwait(false);
            report.Update(r => r with { ExtraSections = [.. r.ExtraSections, section] });
            say($"Privacy audit: {folder.PrivacyDirectory}");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException or InvalidOperationException or ArgumentException)
        {
            // The federation's results are complete and already on disk: an audit failure must not turn them into a failed run.
            report.Update(r => r with
            {
                AuditFailure = e.Message,
                ExtraSections = [.. r.ExtraSections, SimulationAuditWiring.FailureSection(e.Message, folder)],
            });
            say($"Privacy audit failed: {e.Message}");
        }
    }

    /// <summary>Polls the orchestration: shows what each agent reports, and scores each round's global adapter as soon as it exists.</summary>
    private async Task FollowRoundsAsync(LocalOrchestratorHost host, AgentFleet fleet, LanguageModelSession session,
        HeldOutBySpecialty heldOut, FederationArm arm, RunFolder folder, LiveReport report,
        CancellationToken cancellationToken)
    {
        var plan = arm.Plan;
        var collector = new RoundCollector(host.Store, plan.RunId);
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
                SaveRoundAdapter(arm.RoundAdaptersDirectory, record.Round, adapter);
                session.UseAdapter(adapter);
                var global = heldOut.Score(session, arm.Name, FormattableString.Invariant($"{arm.Label} after round {record.Round}"), cancellationToken).All;
                await _storage.RunAsync(ct => StoredEvaluations.SaveAsync(host.Store, plan.RunId, record.Round, record.GlobalAdapter?.Sha256, global, ct), "saving the round's evaluation", cancellationToken)
                    .ConfigureAwait(false);
                var row = await _storage.RunAsync(ct => collector.ToReportAsync(record, previousGlobalBytes, global, ct), "reading the round results", cancellationToken)
                    .ConfigureAwait(false);
                previousGlobalBytes = record.GlobalAdapter?.Bytes ?? previousGlobalBytes;
                foreach (var h in row.Hospitals) status.SetHospital(h.HospitalId, h.State, h.TrainLoss);
                status.FinishRound(record.Round, global);
                arm.Record(report, row);
                next++;
                if (next <= plan.Rounds) status.StartRound(next);
            }

            var view = await _storage.RunAsync(ct => host.Operator.FindRunAsync(plan.RunId, ct), "following the run", cancellationToken).ConfigureAwait(false);
            if (next > plan.Rounds) return;
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

    /// <summary>Shows, for each hospital, the activity its agent reports in its own status for this round.</summary>
    private void ShowAgents(IReadOnlyDictionary<string, AgentStatus?> statuses, string runId, int round)
    {
        foreach (var (id, s) in statuses)
        {
            // The live step loss belongs to training; an upload's loss is the round record's (one value per hospital and round).
            if (AgentActivityText.For(s, runId, round) is { } activity) status.SetAgentActivity(id, activity, s?.Activity == AgentActivity.Training ? s.LastLoss : null);
        }
    }

    private static void SaveRoundAdapter(string directory, int round, LoraAdapter adapter)
    {
        Directory.CreateDirectory(directory);
        var file = RoundAdapterFile(directory, round);
        var temp = file + ".tmp";
        File.WriteAllBytes(temp, AdapterWireFormat.ToBytes(adapter));
        File.Move(temp, file, overwrite: true);
    }

    /// <summary>Where round <paramref name="round"/>'s global adapter is kept (wire format) in an arm's round-adapter folder.</summary>
    internal static string RoundAdapterFile(string directory, int round) =>
        Path.Combine(directory, FormattableString.Invariant($"round-{round:D4}.bin"));

    private RunSettings Settings(string dataFile, FedTuneConfig? config) => new()
    {
        Hospitals = options.Hospitals,
        Rounds = options.Rounds,
        MaxStepsPerRound = options.MaxSteps,
        SeqLength = options.SeqLength,
        BatchSize = options.BatchSize,
        LearningRate = options.LearningRate,
        Partitioning = options.PartitioningLabel,
        Seed = options.Seed,
        EvalExamples = options.EvalExamples,
        DataPath = dataFile,
        Strategy = config?.Federation.Strategy.Name.ToString().ToLowerInvariant() ?? "fedavg",
        WirePrecision = FedTune.Core.Compression.WirePrecisions.Name(options.WirePrecision),
        ConfigPath = options.ConfigPath,
    };

    private static string NewRunId() =>
        FormattableString.Invariant($"sim-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Guid.NewGuid().ToString("N")[..6]}");
}
