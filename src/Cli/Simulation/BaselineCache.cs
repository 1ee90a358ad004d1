using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using FedTune.Cli.Reporting;
using FedTune.Core.Configuration;
using FedTune.Core.Data;
using FedTune.Training.Data;

namespace FedTune.Cli.Simulation;

/// <summary>
/// Finished baselines (a curve and its PEFT adapter), kept under a key of everything a baseline is a function of:
/// the code that trains it (the module version ids of fedtune, FedTune.Training and FedTune.Core, which change with
/// any change to their compiled code, and TorchSharp's version and thread count), the base model's files, the arm's
/// training records, the held-out examples it is scored on, the recipe, the rounds, the steps per round and the seed.
/// Training is deterministic for those, so a later run with the same key reuses the baseline instead of training it
/// again (the same curve and adapter to the bit); a run that changes any of them (data, recipe, base model, seed,
/// rounds, the build) trains it. Entries are written to a temporary folder and renamed, so a killed run leaves none
/// half-written. <c>--retrain-baselines</c> trains them anyway (and refreshes the entry).
/// </summary>
public sealed class BaselineCache(string root)
{
    private const string CurveFile = "curve.json";
    private const string AdapterFolder = "adapter";

    /// <summary>~/.local/share/fedtune/baselines (the base-model cache's sibling).</summary>
    public static BaselineCache Default { get; } = new(Path.Combine(
        Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create), "fedtune", "baselines"));

    public string Root { get; } = root;

    /// <summary>SHA-256 over the base model folder's files (name, length, contents), in name order.</summary>
    public static string ModelFingerprint(string modelFolder)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var file in Directory.GetFiles(modelFolder).Order(StringComparer.Ordinal))
        {
            hash.AppendData(Encoding.UTF8.GetBytes(Path.GetFileName(file) + "\n" + new FileInfo(file).Length + "\n"));
            using var stream = File.OpenRead(file);
            var buffer = new byte[1 << 20];
            int read;
            while ((read = stream.Read(buffer)) > 0) hash.AppendData(buffer.AsSpan(0, read));
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>The key of one baseline arm (hex SHA-256).</summary>
    public static string Key(string label, string modelFingerprint, int seqLength, IReadOnlyList<AlpacaRecord> records,
        IReadOnlyList<TokenizedExample> heldOut, int rounds, int stepsPerRound, TrainingRecipe recipe, int seed)
    {
        ArgumentNullException.ThrowIfNull(records);
        ArgumentNullException.ThrowIfNull(heldOut);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        void Add(string text) => hash.AppendData(Encoding.UTF8.GetBytes(text + "\n"));
        Add("fedtune baseline v1");
        foreach (var assembly in new[] { typeof(BaselineCache).Assembly, typeof(TokenizedExample).Assembly, typeof(TrainingRecipe).Assembly })
        {
            Add(assembly.GetName().Name + " " + assembly.ManifestModule.ModuleVersionId);
        }
        Add("TorchSharp " + typeof(TorchSharp.torch).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
            + " threads " + TorchSharp.torch.get_num_threads());
        Add(label);
        Add(modelFingerprint);
        Add(FormattableString.Invariant($"{seqLength} {rounds} {stepsPerRound} {seed}"));
        Add(JsonSerializer.Serialize(recipe));
        Add(JsonSerializer.Serialize(records));
        foreach (var example in heldOut)
        {
            Add(string.Join(',', example.InputIds) + "|" + string.Join(',', example.Labels));
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>The cached curve, with its adapter copied into <paramref name="adapterFolder"/> when given; null on a miss.</summary>
    public BaselineCurve? TryRestore(string key, string? adapterFolder)
    {
        var entry = Path.Combine(Root, key);
        var curveFile = Path.Combine(entry, CurveFile);
        if (!File.Exists(curveFile)) return null;
        try
        {
            var curve = JsonSerializer.Deserialize<BaselineCurve>(File.ReadAllText(curveFile), RunReportJson.Options);
            if (curve is null) return null;
            if (adapterFolder is not null)
            {
                var cached = Path.Combine(entry, AdapterFolder);
                if (!Directory.Exists(cached)) return null;
                Directory.CreateDirectory(adapterFolder);
                foreach (var file in Directory.GetFiles(cached)) File.Copy(file, Path.Combine(adapterFolder, Path.GetFileName(file)), overwrite: true);
            }
            return curve;
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException)
        {
            return null; // an unreadable entry is a miss: the baseline is trained and the entry written again
        }
    }

    /// <summary>Keeps a trained baseline (its curve and the adapter in <paramref name="adapterFolder"/>, when given).</summary>
    public void Store(string key, BaselineCurve curve, string? adapterFolder)
    {
        var entry = Path.Combine(Root, key);
        var staging = entry + ".tmp-" + Guid.NewGuid().ToString("N")[..8];
        try
        {
            Directory.CreateDirectory(staging);
            File.WriteAllText(Path.Combine(staging, CurveFile), JsonSerializer.Serialize(curve, RunReportJson.Options));
            if (adapterFolder is not null)
            {
                var target = Directory.CreateDirectory(Path.Combine(staging, AdapterFolder)).FullName;
                foreach (var file in Directory.GetFiles(adapterFolder)) File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
            }
            if (Directory.Exists(entry)) Directory.Delete(entry, recursive: true);
            Directory.Move(staging, entry);
        }
        catch (IOException)
        {
            // Another run stored the same entry meanwhile, or the disk is full: the run's own results are unaffected.
        }
        catch (UnauthorizedAccessException)
        {
        }
        finally
        {
            if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        }
    }
}
