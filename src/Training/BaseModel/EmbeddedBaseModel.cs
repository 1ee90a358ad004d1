using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using FedTune.Training.Modeling;
using FedTune.Training.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace FedTune.Training.BaseModel;

/// <summary>What <see cref="EmbeddedBaseModel.Create"/> produced.</summary>
public sealed record EmbeddedBaseModelResult(
    string Folder, bool FromCache, int Steps, bool StoppedByTimeBudget, double FirstLoss, double FinalLoss, long NonEmbeddingParameters, TimeSpan Elapsed);

/// <summary>
/// The default base model for machines that cannot download weights: a small GPT-NeoX with GPT-2's BPE vocabulary,
/// pretrained from scratch for a bounded time on texts the caller supplies (a public split disjoint from every private
/// and evaluation split), saved in Hugging Face layout (config.json, model.safetensors, tokenizer.json) so that
/// <see cref="HuggingFaceModelLoader"/> reads it. Cached by a fingerprint of the options and texts; reproducible with a seed.
/// </summary>
public static class EmbeddedBaseModel
{
    public const string MetadataFile = "fedtune_base.json";

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>The embedding and output rows for a tokenizer of <paramref name="tokens"/> tokens: padded to a multiple of 64, as Pythia pads 50,277 to 50,304.</summary>
    public static int VocabularyRows(int tokens) => (tokens + 63) / 64 * 64;

    /// <summary>The per-user cache folder used when the CLI gets no explicit output folder.</summary>
    public static string DefaultCacheRoot() =>
        Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create), "fedtune", "base-models");

    /// <summary>
    /// Builds and pretrains the model into <paramref name="folder"/>, or returns the cached one when the folder already
    /// holds a model made from the same options and texts. The folder is written atomically (a crash leaves no half model).
    /// </summary>
    public static EmbeddedBaseModelResult Create(IReadOnlyList<string> texts, string folder, EmbeddedBaseModelOptions options, Action<string>? log = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(texts);
        ArgumentException.ThrowIfNullOrEmpty(folder);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (texts.Count == 0)
            throw new ArgumentException("Pretraining needs at least one text.", nameof(texts));
        var fingerprint = Fingerprint(texts, options);
        var cached = TryReadCached(folder, fingerprint);
        if (cached is { StoppedByTimeBudget: false })
        {
            log?.Invoke($"Embedded base model already cached in {folder}.");
            return cached;
        }

        if (cached is not null)
        {
            // A model cut short by the time budget is not the reproducible default: never reused, built again.
            log?.Invoke($"The cached embedded base model in {folder} was cut short by the time budget ({cached.Steps} of {options.MaxSteps} steps) when it was built; building it again.");
        }

        var clock = Stopwatch.StartNew();
        var tokenizer = HuggingFaceTokenizer.FromJson(PrunedBpeVocabulary.Build(Gpt2TokenizerJson.Build(), texts, options.VocabularySize));
        int endOfText = tokenizer.EndOfTextId ?? throw new InvalidDataException("The GPT-2 tokenizer lost <|endoftext|>.");
        int rows = VocabularyRows(tokenizer.VocabularySize);
        var stream = Pack(texts, tokenizer, endOfText);
        log?.Invoke($"Vocabulary: GPT-2's BPE cut to the {tokenizer.VocabularySize} tokens these texts use most ({rows} rows); {stream.Length:N0} tokens of pretraining text.");
        long sequences = (stream.Length - 1) / options.SequenceLength;
        if (sequences < 1)
            throw new ArgumentException($"The texts give {stream.Length} tokens, fewer than one sequence of {options.SequenceLength + 1}.", nameof(texts));

        var config = new GptNeoXConfig
        {
            VocabSize = rows,
            HiddenSize = options.HiddenSize,
            NumHiddenLayers = options.Layers,
            NumAttentionHeads = options.Heads,
            IntermediateSize = options.IntermediateSize,
            RotaryPct = options.RotaryPct,
            MaxPositionEmbeddings = options.MaxPositionEmbeddings,
            BosTokenId = endOfText,
            EosTokenId = endOfText,
        }.Validate();

        torch.random.manual_seed(options.Seed);
        // Always on the CPU, also where a GPU is present: a GPU's kernels round differently, and the default model must be
        // the same on every machine for a seed.
        using var model = new GptNeoXForCausalLM(config, CPU);
        model.InitializeRandom(options.Seed);
        model.SetBaseTrainable(true);
        model.SetTraining(true);
        var parameters = model.parameters().Where(p => p.requires_grad).ToList();
        using var optimizer = torch.optim.AdamW(parameters, options.LearningRate, beta1: 0.9, beta2: 0.95, weight_decay: options.WeightDecay);
        var order = new Random((int)(options.Seed & 0x7FFFFFFF));
        var tokens = torch.tensor(stream, device: model.Device);
        double firstLoss = double.NaN, loss = double.NaN;
        int step = 0;
        bool timedOut = false;
        int warmup = Math.Max(1, options.MaxSteps / 20);
        for (; step < options.MaxSteps; step++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (step > 0 && clock.Elapsed > options.TimeBudget)
            {
                timedOut = true;
                break;
            }

            double lr = step < warmup
                ? options.LearningRate * (step + 1) / warmup
                : options.LearningRate * 0.5 * (1 + Math.Cos(Math.PI * (step - warmup) / Math.Max(1, options.MaxSteps - warmup)));
            foreach (var group in optimizer.ParamGroups) group.LearningRate = lr;
            using var scope = torch.NewDisposeScope();
            var starts = Enumerable.Range(0, options.BatchSize).Select(_ => order.NextInt64(sequences) * options.SequenceLength).ToArray();
            var batch = torch.stack(starts.Select(s => tokens.narrow(0, s, options.SequenceLength + 1)).ToArray());
            var inputs = batch.narrow(1, 0, options.SequenceLength);
            var labels = batch.narrow(1, 1, options.SequenceLength);
            optimizer.zero_grad();
            var logits = model.Forward(inputs, null);
            var lossTensor = nn.functional.cross_entropy(logits.reshape(-1, rows), labels.reshape(-1));
            lossTensor.backward();
            nn.utils.clip_grad_norm_(parameters, 1.0);
            optimizer.step();
            loss = lossTensor.item<float>();
            if (step == 0) firstLoss = loss;
            if (step % 25 == 0) log?.Invoke($"pretraining step {step}/{options.MaxSteps} loss {loss:F3} lr {lr:E2} ({clock.Elapsed.TotalSeconds:F0}s)");
        }

        tokens.Dispose();
        model.SetBaseTrainable(false);
        long nonEmbedding = model.named_parameters()
            .Where(p => p.name != "gpt_neox.embed_in.weight" && p.name != "embed_out.weight")
            .Sum(p => p.parameter.NumberOfElements);
        var result = new EmbeddedBaseModelResult(Path.GetFullPath(folder), false, step, timedOut, firstLoss, loss, nonEmbedding, clock.Elapsed);
        Save(model, tokenizer, folder, fingerprint, options, result);
        log?.Invoke($"Embedded base model saved to {folder}: {step} steps, loss {firstLoss:F3} → {loss:F3}{(timedOut ? " (stopped by the time budget: not reproducible)" : "")}.");
        return result;
    }

    private static long[] Pack(IReadOnlyList<string> texts, HuggingFaceTokenizer tokenizer, int endOfText)
    {
        var ids = new List<long>();
        foreach (var text in texts)
        {
            ids.AddRange(tokenizer.Encode(text).Select(i => (long)i));
            ids.Add(endOfText);
        }

        return ids.ToArray();
    }

    private static void Save(GptNeoXForCausalLM model, HuggingFaceTokenizer tokenizer, string folder, string fingerprint, EmbeddedBaseModelOptions options, EmbeddedBaseModelResult result)
    {
        var full = Path.GetFullPath(folder);
        var staging = full.TrimEnd(Path.DirectorySeparatorChar) + ".partial-" + Environment.ProcessId;
        if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        HuggingFaceModelWriter.Save(model, staging, tokenizer.Json);
        var metadata = new
        {
            fingerprint,
            seed = options.Seed,
            steps = result.Steps,
            stopped_by_time_budget = result.StoppedByTimeBudget,
            first_loss = result.FirstLoss,
            final_loss = result.FinalLoss,
            non_embedding_parameters = result.NonEmbeddingParameters,
            elapsed_seconds = result.Elapsed.TotalSeconds,
        };
        File.WriteAllText(Path.Combine(staging, MetadataFile), JsonSerializer.Serialize(metadata, Indented));
        if (Directory.Exists(full)) Directory.Delete(full, recursive: true);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        Directory.Move(staging, full);
    }

    private static EmbeddedBaseModelResult? TryReadCached(string folder, string fingerprint)
    {
        var file = Path.Combine(folder, MetadataFile);
        if (!File.Exists(file) || !File.Exists(Path.Combine(folder, HuggingFaceModelLoader.SafetensorsFile))) return null;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(file));
            var root = doc.RootElement;
            if (root.GetProperty("fingerprint").GetString() != fingerprint) return null;
            return new EmbeddedBaseModelResult(
                Path.GetFullPath(folder), true, root.GetProperty("steps").GetInt32(), root.GetProperty("stopped_by_time_budget").GetBoolean(),
                root.GetProperty("first_loss").GetDouble(), root.GetProperty("final_loss").GetDouble(),
                root.GetProperty("non_embedding_parameters").GetInt64(), TimeSpan.FromSeconds(root.GetProperty("elapsed_seconds").GetDouble()));
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return null;
        }
    }

    private static string Fingerprint(IReadOnlyList<string> texts, EmbeddedBaseModelOptions options)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(options with { TimeBudget = TimeSpan.Zero })));
        foreach (var text in texts)
        {
            hash.AppendData(Encoding.UTF8.GetBytes(text));
            hash.AppendData([0]);
        }

        return Convert.ToHexString(hash.GetHashAndReset()).ToLowerInvariant();
    }
}
