using System.Globalization;
using FedTune.Cli.Reporting;
using FedTune.Core.Data;
using FedTune.Core.Privacy;
using FedTune.Training.Data;
using FedTune.Training.Privacy;

namespace FedTune.Cli.Simulation;

/// <summary>
/// Connects a simulation run to the privacy audit: plants the canaries before the shards are written, describes the
/// finished run in <c>privacy-audit-inputs.json</c> (so <c>fedtune privacy-audit --run DIR</c> needs no other argument),
/// and, with <c>--audit</c>, runs the audit into <c>privacy/</c> and returns its report.md section.
/// </summary>
public static class SimulationAuditWiring
{
    public const string SectionTitle = "Privacy audit";
    public const string PrivacyFolderName = "privacy";

    /// <summary>The run's canaries (hospital-1's shard), or null when none are asked for.</summary>
    public static CanarySet? CreateCanaries(SimulationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Canaries == 0) return null;
        var canaryOptions = new CanaryOptions { Count = options.Canaries, Candidates = options.CanaryCandidates, HospitalIndex = 0, Seed = options.Seed };
        canaryOptions.Validate();
        return CanarySet.Create(canaryOptions);
    }

    /// <summary>
    /// Throws before any training when a canary's secret would be cut off at the run's sequence length (then it is
    /// neither trained on nor measurable), naming --seq-length as the fix.
    /// </summary>
    public static void RequireCanariesFit(CanarySet canaries, AlpacaExampleTokenizer examples)
    {
        ArgumentNullException.ThrowIfNull(canaries);
        ArgumentNullException.ThrowIfNull(examples);
        foreach (var canary in canaries.Canaries)
        {
            var secret = examples.Tokenize(canary.Record);
            var other = examples.Tokenize(canary.RecordFor(canaries.AlternativeNumbers(canary)[0]));
            if (secret.Labels.SequenceEqual(other.Labels))
            {
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                    $"--canaries: the canary record of {canary.PatientName} does not fit in {examples.Options.SeqLength} tokens, so its secret number would be cut off " +
                    $"and never trained on or measured. Fix: raise --seq-length (or train.seq_length), or leave out --canaries."));
            }
        }
    }

    /// <summary>Folder of the centralized baseline's final adapter (PEFT layout).</summary>
    public static string CentralizedAdapterDirectory(RunFolder folder) => Path.Combine(folder.BaselinesDirectory, "centralized", "adapter");

    /// <summary>Folder of a local-only baseline's final adapter (PEFT layout).</summary>
    public static string LocalOnlyAdapterDirectory(RunFolder folder, string hospitalId) => Path.Combine(folder.BaselinesDirectory, "local-only", hospitalId, "adapter");

    /// <summary>
    /// What the audit reads for this run: the base model, the final global adapter, every round's checkpoint, the
    /// baselines' adapters when they were saved; members = the hospitals' training files, non-members = the evaluation
    /// split and the hospitals' held-out files; the canary file when canaries were planted. Under DP each checkpoint
    /// carries the ε spent up to its round (the final adapter the last round's), so the audit compares like with like.
    /// </summary>
    /// <param name="privateFederation">The DP arm (--dp), audited beside the plain federation with the ε its models carry; null when none ran.</param>
    public static AuditInputs Describe(RunFolder folder, string baseModelDirectory, PartitionedDatasetFiles files, IReadOnlyList<RoundReport> rounds,
        bool withBaselines, PrivateFederationReport? privateFederation = null)
    {
        ArgumentNullException.ThrowIfNull(folder);
        ArgumentNullException.ThrowIfNull(files);
        ArgumentNullException.ThrowIfNull(rounds);
        static TrainingArm Arm(double? epsilon) => epsilon is null ? TrainingArm.Federated : TrainingArm.FederatedDp;
        var finalEpsilon = rounds.Count > 0 ? rounds[^1].DpEpsilon : null;
        var models = new List<AuditModelSpec> { new("federated", folder.AdapterDirectory, Arm(finalEpsilon), finalEpsilon) };
        foreach (var round in rounds)
        {
            models.Add(new AuditModelSpec(string.Create(CultureInfo.InvariantCulture, $"round {round.Round}"), SimulationRunner.RoundAdapterFile(folder.RoundAdaptersDirectory, round.Round),
                Arm(round.DpEpsilon), round.DpEpsilon, round.Round));
        }
        if (privateFederation is { Rounds.Count: > 0 } dp && Directory.Exists(folder.PrivateAdapterDirectory))
        {
            models.Add(new AuditModelSpec(PrivateArm.Label, folder.PrivateAdapterDirectory, TrainingArm.FederatedDp, dp.FinalEpsilon));
            foreach (var round in dp.Rounds)
            {
                models.Add(new AuditModelSpec(string.Create(CultureInfo.InvariantCulture, $"{PrivateArm.Label} round {round.Round}"),
                    SimulationRunner.RoundAdapterFile(folder.PrivateRoundAdaptersDirectory, round.Round), TrainingArm.FederatedDp,
                    round.Epsilon, round.Round));
            }
        }
        if (withBaselines)
        {
            var central = CentralizedAdapterDirectory(folder);
            if (Directory.Exists(central)) models.Add(new AuditModelSpec("centralized", central, TrainingArm.Centralized));
            foreach (var hospital in files.Hospitals)
            {
                var local = LocalOnlyAdapterDirectory(folder, hospital.Name);
                if (Directory.Exists(local)) models.Add(new AuditModelSpec("local-only " + hospital.Name, local, TrainingArm.LocalOnly));
            }
        }
        var canaryFile = Path.Combine(folder.Path, CanarySet.FileName);
        return new AuditInputs(
            baseModelDirectory,
            models,
            MembersFiles: files.Hospitals.Select(h => h.TrainPath).ToList(),
            NonMembersFiles: [files.EvaluationPath, .. files.Hospitals.Select(h => h.HeldOutPath)],
            CanaryFile: File.Exists(canaryFile) ? canaryFile : null,
            Hospitals: files.Hospitals.Select(h => new HospitalRecordFiles(h.Name, h.TrainPath, h.HeldOutPath)).ToList());
    }

    /// <summary>Writes <c>privacy-audit-inputs.json</c> into the run folder and returns its path.</summary>
    public static string Save(AuditInputs inputs, RunFolder folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        var path = Path.Combine(folder.Path, AuditInputsFile.FileName);
        AuditInputsFile.Save(inputs, path);
        return path;
    }

    /// <summary>Runs the audit into <c>privacy/</c> and returns the section for report.md.</summary>
    /// <param name="passesPerRecord">How many times each hospital's model saw each of its training records on average (rounds × steps × batch / records), for the verdict.</param>
    public static async Task<ReportSection> RunAsync(AuditInputs inputs, RunFolder folder, SimulationOptions options, Action<string> say,
        CancellationToken cancellationToken, double passesPerRecord = double.NaN)
    {
        ArgumentNullException.ThrowIfNull(folder);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(inputs);
        var auditOptions = new PrivacyAuditOptions
        {
            Tokenization = new TokenizationOptions { SeqLength = options.SeqLength },
            Bootstrap = new BootstrapOptions { Resamples = options.AuditBootstrap },
            MaxRecordsPerSide = options.AuditRecordsPerSide,
        };
        // The run's audit covers each arm's final model; every round's checkpoint stays in privacy-audit-inputs.json for `fedtune privacy-audit --run`.
        var finalModels = inputs with { Models = inputs.Models.Where(m => m.Round is null).ToList() };
        var (result, plots) = await PrivacyAuditReport.RunAsync(finalModels, auditOptions, folder.PrivacyDirectory, new Progress(say), cancellationToken)
            .ConfigureAwait(false);
        return new ReportSection(SectionTitle, PerArmVerdict(result, passesPerRecord) + Environment.NewLine + Environment.NewLine +
            PrivacyAuditReport.MarkdownSection(result, plots, PrivacyFolderName, headingLevel: 3));
    }

    /// <summary>
    /// One line per audited model: its strongest attack's AUROC with its interval, whether that interval excludes 0.5 (a
    /// measurable leak), its TPR at 1% FPR and its canaries' exposure; then, when nothing leaks, why (the member/non-member
    /// loss gap the attacks feed on is within noise).
    /// </summary>
    public static string PerArmVerdict(PrivacyAuditResult result, double passesPerRecord = double.NaN)
    {
        ArgumentNullException.ThrowIfNull(result);
        var c = CultureInfo.InvariantCulture;
        var lines = new List<string> { "What the audit found, per arm (strongest headline attack; a leak is an AUROC interval above 0.5):", "" };
        bool anyLeak = false;
        foreach (var model in result.Models)
        {
            var strongest = model.Attacks.Where(a => a.Headline).MaxBy(a => a.Metrics.Auroc.Value);
            if (strongest is null) continue;
            var auroc = strongest.Metrics.Auroc;
            bool leak = auroc.Lower > 0.5 && model.Model.Label != AuditModelSpec.BaseLabel;
            anyLeak |= leak;
            var canaries = model.Canaries.Count == 0 ? "" : string.Create(c,
                $"; canary exposure {model.Canaries.Average(k => k.Exposure):0.00} bits on average (max {model.Canaries.Max(k => k.MaxExposure):0.00})");
            lines.Add(string.Create(c, $"- **{model.Model.Label}** ({model.Model.Arm}{(model.Model.Epsilon is { } e ? ", ε " + PrivacyAuditMarkdown.Epsilon(e) : "")}): ") +
                (leak ? "**measurable leak**: " : "no measurable leak: ") +
                string.Create(c, $"{strongest.Name} AUROC {auroc}, TPR at 1% FPR {strongest.Metrics.TprAt1PercentFpr.Value:0.0%}; members' mean NLL {model.MemberMeanNll:0.000} vs non-members' {model.NonMemberMeanNll:0.000}{canaries}."));
        }
        lines.Add("");
        lines.Add(anyLeak
            ? "Where an interval lies above 0.5, an attacker with that model can tell the hospitals' training records from outsiders better than chance; record-level differential privacy (`fedtune simulate --dp`, or `train.differential_privacy:` in the YAML) is the remedy, at the ε shown for its arm."
            : "Nothing leaks measurably: every interval covers 0.5, because the models saw each training record only " +
              (double.IsFinite(passesPerRecord) ? string.Create(c, $"{passesPerRecord:0.##} times on average") : "a few times") + " in a short LoRA run, so their loss on training records is barely lower than on held-out records of the same specialties (the gap each attack feeds on); the canaries' exposure says the same about planted secrets.");
        return string.Join(Environment.NewLine, lines);
    }

    /// <summary>The report.md section that stands in for the audit when it failed: what happened and how to retry it alone.</summary>
    public static ReportSection FailureSection(string reason, RunFolder folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        return new ReportSection(SectionTitle,
            $"The privacy audit failed: {reason}\n\nThe federation itself completed and everything above is complete. " +
            $"Fix the cause, then run the audit alone on this folder: `fedtune privacy-audit --run {folder.Path}`.");
    }

    /// <summary>Reports synchronously (the audit's progress goes straight to the status lines).</summary>
    private sealed class Progress(Action<string> say) : IProgress<string>
    {
        public void Report(string value) => say(value);
    }
}
