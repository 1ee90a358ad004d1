using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using FedTune.Cli.Reporting;

namespace FedTune.Cli.Simulation;

/// <summary>What the run folder remembers between invocations (for --resume / --fresh).</summary>
public sealed record RunState
{
    public required string RunId { get; init; }

    /// <summary>A hash of every setting that changes the run's result; a resume must match it.</summary>
    public required string SettingsFingerprint { get; init; }

    public required RunOutcome Outcome { get; init; }
    public required DateTimeOffset StartedUtc { get; init; }
}

/// <summary>
/// A simulation's folder: report files at the top, <c>data/</c> (the split; each hospital's shard in its own folder),
/// <c>agents/</c> (each agent's work folder and log), <c>.state/</c> (run state and Azurite's data, so an interrupted run
/// resumes where the Durable orchestration stopped).
/// </summary>
public sealed class RunFolder
{
    private const string StateFile = "run-state.json";
    private static readonly JsonSerializerOptions Json = RunReportJson.Options;

    public RunFolder(string path) => Path = System.IO.Path.GetFullPath(path);

    public string Path { get; }
    public string DataDirectory => System.IO.Path.Combine(Path, "data");
    public string AgentsDirectory => System.IO.Path.Combine(Path, "agents");
    public string StateDirectory => System.IO.Path.Combine(Path, ".state");
    public string AzuriteDirectory => System.IO.Path.Combine(StateDirectory, "azurite");
    public string AdapterDirectory => System.IO.Path.Combine(Path, "global-adapter");
    public string MergedModelDirectory => System.IO.Path.Combine(Path, "merged-model");
    public string BaselinesDirectory => System.IO.Path.Combine(Path, "baselines");
    public string PrivacyDirectory => System.IO.Path.Combine(Path, "privacy");
    public string RoundAdaptersDirectory => System.IO.Path.Combine(StateDirectory, "round-adapters");

    /// <summary>The DP arm's final global adapter (PEFT layout), when the run has one.</summary>
    public string PrivateAdapterDirectory => System.IO.Path.Combine(Path, "global-adapter-dp");

    /// <summary>The DP arm's round checkpoints.</summary>
    public string PrivateRoundAdaptersDirectory => System.IO.Path.Combine(StateDirectory, "round-adapters-dp");
    /// <summary>The local orchestrator host's warnings and errors (the Durable Task provider, sidecar and worker).</summary>
    public string OrchestratorLogPath => System.IO.Path.Combine(Path, "orchestrator.log");

    public string AgentDirectory(string hospitalId) => System.IO.Path.Combine(AgentsDirectory, hospitalId);

    public RunState? ReadState()
    {
        var file = System.IO.Path.Combine(StateDirectory, StateFile);
        if (!File.Exists(file)) return null;
        try
        {
            return JsonSerializer.Deserialize<RunState>(File.ReadAllText(file), Json);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{file} is damaged ({e.Message}). Fix: run again with --fresh (the earlier run cannot be resumed).", e);
        }
    }

    public void WriteState(RunState state) =>
        AtomicFile.WriteAllText(System.IO.Path.Combine(StateDirectory, StateFile), JsonSerializer.Serialize(state, Json));

    /// <summary>Deletes everything an earlier run left (report, data, agents' state, Azurite data).</summary>
    public void Clear()
    {
        if (!Directory.Exists(Path)) return;
        foreach (var dir in Directory.GetDirectories(Path)) Directory.Delete(dir, recursive: true);
        foreach (var file in Directory.GetFiles(Path)) File.Delete(file);
    }

    /// <summary>
    /// A fingerprint of everything that changes a run's result (not --out, --storage or --compare): the settings, the
    /// configuration's content (not its path: editing r or alpha in the same file starts a new run), the data file's
    /// content and the base model folder's files (names and content).
    /// </summary>
    public static string Fingerprint(SimulationOptions o, string dataFile, string model)
    {
        ArgumentNullException.ThrowIfNull(o);
        var text = FormattableString.Invariant(
            $"{o.Hospitals}|{o.Rounds}|{o.MaxSteps}|{o.SeqLength}|{o.BatchSize}|{o.LearningRate:R}|{o.Partitioning}|{o.EvalExamples}|{o.RecordsPerHospital}|{o.Seed}") +
            (o.Canaries > 0 ? FormattableString.Invariant($"|canaries={o.Canaries}/{o.CanaryCandidates}") : "") +
            (o.Dp ? "|dp" : "") +
            (o.WirePrecision != FedTune.Core.Compression.WirePrecision.Fp32 ? "|wire=" + FedTune.Core.Compression.WirePrecisions.Name(o.WirePrecision) : "") +
            "|config=" + (o.ConfigPath is null ? "built-in" : ContentFingerprint.OfFile(o.ConfigPath)) +
            "|data=" + ContentFingerprint.OfFile(dataFile) +
            "|model=" + ContentFingerprint.OfFolder(model);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..16];
    }
}

/// <summary>SHA-256 of a file's bytes, or of a folder's files (relative names and bytes, in ordinal order).</summary>
public static class ContentFingerprint
{
    public static string OfFile(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    public static string OfFolder(string folder)
    {
        if (!Directory.Exists(folder)) return OfFile(folder);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var file in Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
                     .Select(f => System.IO.Path.GetRelativePath(folder, f)).Order(StringComparer.Ordinal))
        {
            hash.AppendData(Encoding.UTF8.GetBytes(file + "\n"));
            hash.AppendData(Convert.FromHexString(OfFile(System.IO.Path.Combine(folder, file))));
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }
}

/// <summary>Whether a run starts fresh or resumes, and why.</summary>
public sealed record ResumeDecision(bool Resume, string RunId, string Reason);

/// <summary>Applies --resume/--fresh (or the automatic choice) to what the run folder holds.</summary>
public static class ResumePolicy
{
    public static ResumeDecision Decide(ResumeMode mode, RunState? existing, string fingerprint, Func<string> newRunId)
    {
        ArgumentNullException.ThrowIfNull(newRunId);
        bool unfinished = existing is not null && existing.Outcome is RunOutcome.Running or RunOutcome.Cancelled or RunOutcome.Failed;
        switch (mode)
        {
            case ResumeMode.Fresh:
                return new ResumeDecision(false, newRunId(), existing is null ? "new run" : "--fresh: the earlier run's files were deleted");
            case ResumeMode.Resume when existing is null:
                throw new InvalidOperationException("--resume: this folder holds no earlier run. Fix: leave out --resume to start one, or point --out at the run's folder.");
            case ResumeMode.Resume when !unfinished:
                throw new InvalidOperationException($"--resume: run {existing!.RunId} in this folder already completed. Fix: use --fresh to run again, or another --out.");
            case ResumeMode.Resume when existing!.SettingsFingerprint != fingerprint:
                throw new InvalidOperationException($"--resume: run {existing.RunId} used different settings. Fix: resume with exactly the same settings, or use --fresh.");
            case ResumeMode.Resume:
                return new ResumeDecision(true, existing.RunId, "--resume");
            default:
                if (existing is null) return new ResumeDecision(false, newRunId(), "new run");
                if (unfinished && existing.SettingsFingerprint == fingerprint)
                {
                    return new ResumeDecision(true, existing.RunId, $"resuming the unfinished run {existing.RunId} (use --fresh to start over)");
                }
                if (unfinished)
                {
                    throw new InvalidOperationException(
                        $"This folder holds the unfinished run {existing.RunId} with different settings. Fix: --resume it with its settings, --fresh to discard it, or choose another --out.");
                }
                return new ResumeDecision(false, newRunId(), $"the earlier run {existing.RunId} completed; starting a new one (its files are replaced)");
        }
    }
}
