using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using FedTune.Cli.Reporting;
using FedTune.Core.Data;
using FedTune.Training.BaseModel;
using FedTune.Training.Data;

namespace FedTune.Cli.Simulation;

/// <summary>
/// The embedded default base model for machines without model files: a small GPT-NeoX pretrained for a bounded few
/// CPU minutes on the <b>general-medicine</b> records of the data (the splitter's public part with
/// <see cref="PublicPartSelection.GeneralMedicine"/>: every topic no specialty claims), so it has never seen an oncology,
/// cardiovascular or infectious-disease topic, the specialties the hospitals hold. Disjoint from every hospital's shard
/// and from the evaluation split; cached per data file and seed, so it is built once.
/// </summary>
public static class EmbeddedBaseModelSource
{
    public const string ModelName = "fedtune/embedded-default";

    /// <summary>The cached model for <paramref name="dataFile"/> and <paramref name="seed"/>, built first when missing.</summary>
    public static BaseModelInfo Ensure(string dataFile, int seed, Action<string> say, CancellationToken cancellationToken,
        string? folder = null, TimeSpan? timeBudget = null, int? steps = null)
    {
        ArgumentNullException.ThrowIfNull(say);
        var records = new AlpacaDatasetReader().ReadAll(dataFile);
        var split = MedicalDataSplitter.Split(records, new MedicalSplitOptions { HospitalCount = 1, Seed = seed, PublicPart = PublicPartSelection.GeneralMedicine });
        var texts = split.Public.Select(r => AlpacaPromptTemplate.Alpaca.FormatPrompt(r) + r.Output).ToList();
        folder ??= DefaultFolder(dataFile, seed);
        var options = new EmbeddedBaseModelOptions { Seed = seed };
        if (timeBudget is { } budget) options = options with { TimeBudget = budget };
        if (steps is { } s) options = options with { MaxSteps = s };
        if (!Directory.Exists(folder))
        {
            say(string.Create(CultureInfo.InvariantCulture,
                $"Building the embedded default base model (once: {options.MaxSteps} pretraining steps, under a minute on two idle cores, capped at {options.TimeBudget.TotalMinutes:F0}) from the {texts.Count} general-medicine records into {folder}"));
        }
        var result = EmbeddedBaseModel.Create(texts, folder, options, say, cancellationToken);
        say(string.Create(CultureInfo.InvariantCulture,
            $"Base model: the embedded default ({result.NonEmbeddingParameters / 1e6:F1}M non-embedding parameters, {result.Steps} pretraining steps, " +
            $"loss {result.FirstLoss:F2} -> {result.FinalLoss:F2}{(result.FromCache ? ", cached" : "")}) in {result.Folder}"));
        return new BaseModelInfo(ModelName, "embedded", result.Folder);
    }

    /// <summary>Per data file (by content hash) and seed, under the per-user cache.</summary>
    public static string DefaultFolder(string dataFile, int seed)
    {
        using var stream = File.OpenRead(dataFile);
        var hash = Convert.ToHexStringLower(SHA256.HashData(stream))[..12];
        return Path.Combine(EmbeddedBaseModel.DefaultCacheRoot(), string.Create(CultureInfo.InvariantCulture, $"embedded-general-{hash}-seed{seed}"));
    }
}
