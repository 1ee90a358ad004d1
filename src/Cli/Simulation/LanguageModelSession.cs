using FedTune.Cli.Reporting;
using FedTune.Core.Adapters;
using FedTune.Core.Configuration;
using FedTune.Core.Data;
using FedTune.Training.Data;
using FedTune.Training.Evaluation;
using FedTune.Training.Lora;
using FedTune.Training.Modeling;
using FedTune.Training.Trainer;

namespace FedTune.Cli.Simulation;

/// <summary>
/// A base model loaded once (CPU), its tokenizer, and the held-out scoring, adapter swapping, baseline training and
/// export the simulation, `fedtune eval`, `centralized` and `local-only` need. Not thread-safe: one user at a time.
/// </summary>
public sealed class LanguageModelSession : IDisposable
{
    private readonly GptNeoXForCausalLM _model;
    private bool _adapterAttached;
    private LoraAdapter? _lastAdapter;

    private LanguageModelSession(string folder, GptNeoXForCausalLM model, ITextTokenizer tokenizer, int seqLength)
    {
        ModelFolder = folder;
        _model = model;
        Tokenizer = tokenizer;
        Examples = new AlpacaExampleTokenizer(tokenizer, options: new TokenizationOptions { SeqLength = Math.Min(seqLength, (int)model.MaxSequenceLength) });
    }

    public string ModelFolder { get; }
    public ITextTokenizer Tokenizer { get; }
    public AlpacaExampleTokenizer Examples { get; }
    public GptNeoXForCausalLM Model => _model;

    /// <summary>Loads a Hugging Face GPT-NeoX folder (config.json, model.safetensors, tokenizer.json).</summary>
    public static LanguageModelSession Load(string modelFolder, int seqLength)
    {
        if (!Directory.Exists(modelFolder))
        {
            throw new DirectoryNotFoundException($"The model folder '{modelFolder}' does not exist. Fix: give a Hugging Face model folder (config.json, model.safetensors, tokenizer.json).");
        }
        var tokenizer = FedTune.Training.Tokenization.HuggingFaceTokenizer.Load(modelFolder);
        var model = HuggingFaceModelLoader.Load(modelFolder);
        return new LanguageModelSession(modelFolder, model, tokenizer, seqLength);
    }

    /// <summary>Tokenizes Alpaca records with the session's prompt template and seq_length.</summary>
    public IReadOnlyList<TokenizedExample> Tokenize(IEnumerable<AlpacaRecord> records) => Examples.TokenizeAll(records);

    /// <summary>Mean token NLL and perplexity of the current model (base, or base + adapter) on <paramref name="examples"/>.</summary>
    public EvalMetrics Evaluate(IReadOnlyList<TokenizedExample> examples, CancellationToken cancellationToken = default)
    {
        var result = new CausalLmEvaluator(_model, Tokenizer.PadTokenId, batchSize: 8).Evaluate(examples, cancellationToken);
        return new EvalMetrics(result.Tokens, result.MeanNll, result.Perplexity);
    }

    /// <summary>
    /// What the model computes beyond its base folder: "base" when no adapter is attached or every LoRA B (or A) matrix is
    /// zero, else a SHA-256 of the LoRA parameters' names and float32 values.
    /// </summary>
    public string AdapterFingerprint()
    {
        if (!_adapterAttached) return "base";
        var parameters = _model.AdapterParameters.OrderBy(p => p.Key, StringComparer.Ordinal).ToList();
        bool NoneNonZero(string kind) => parameters.Where(p => p.Key.Contains(kind, StringComparison.Ordinal))
            .All(p => p.Value.count_nonzero().item<long>() == 0);
        if (NoneNonZero("lora_B") || NoneNonZero("lora_A")) return "base";
        using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        foreach (var (name, parameter) in parameters)
        {
            hash.AppendData(System.Text.Encoding.UTF8.GetBytes(name));
            using var values = parameter.detach().cpu().to(TorchSharp.torch.ScalarType.Float32).contiguous();
            hash.AppendData(values.bytes);
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>Puts <paramref name="adapter"/> on the model (attaching LoRA modules the first time, replacing weights after).</summary>
    public void UseAdapter(LoraAdapter adapter)
    {
        if (_adapterAttached)
        {
            LoraAdapterExchange.Import(_model, adapter);
        }
        else
        {
            LoraAdapterExchange.Attach(_model, adapter);
            _adapterAttached = true;
        }
        _lastAdapter = adapter;
    }

    /// <summary>
    /// Puts <paramref name="adapter"/> on the model, or with null makes the model compute the plain base model again
    /// (an attached adapter's B matrices set to zero: LoRA then adds exactly nothing).
    /// </summary>
    public void UseAdapterOrBase(LoraAdapter? adapter)
    {
        if (adapter is not null)
        {
            UseAdapter(adapter);
            _lastAdapter = adapter;
            return;
        }
        if (_adapterAttached)
        {
            var current = _lastAdapter ?? throw new InvalidOperationException("The attached adapter is unknown: load a new session for the base model.");
            LoraAdapterExchange.Import(_model, current.With(t => t.Name.Contains("lora_B", StringComparison.Ordinal) ? new float[t.Data.Length] : t.Data));
        }
    }

    /// <summary>
    /// Answers are greedy with Hugging Face's no_repeat_ngram_size 3: without it the small models of a simulation loop on
    /// one phrase ("The symptoms of the symptoms of ...") and every arm's answer reads the same.
    /// </summary>
    public const int AnswerNoRepeatNgramSize = 3;

    /// <summary>The current model's greedy answer (at most <paramref name="maxNewTokens"/> tokens) to <paramref name="question"/> in the Alpaca template.</summary>
    public string Answer(string question, int maxNewTokens)
    {
        var prompt = FedTune.Training.Data.AlpacaPromptTemplate.Alpaca.FormatPrompt(new AlpacaRecord("Answer this question truthfully", question, ""));
        var ids = Tokenizer.Encode(prompt).Select(i => (long)i).ToArray();
        var options = new FedTune.Training.Generation.GenerationOptions
        {
            MaxNewTokens = maxNewTokens,
            EosTokenId = Tokenizer.EosTokenId,
            PadTokenId = Tokenizer.PadTokenId,
            NoRepeatNgramSize = AnswerNoRepeatNgramSize,
        }.Validate();
        _model.SetTraining(false);
        var output = FedTune.Training.Generation.TextGenerator.Generate(_model, [ids], options)[0];
        var text = Tokenizer.Decode(output.Select(i => (int)i));
        return string.Join(' ', text.Split((char[])['\n', '\r'], StringSplitOptions.RemoveEmptyEntries)).Trim();
    }

    /// <summary>Reads an adapter from a PEFT folder or a FedTune wire-format file.</summary>
    public static LoraAdapter ReadAdapter(string path)
    {
        if (Directory.Exists(path)) return PeftAdapterFolder.Load(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"The adapter '{path}' does not exist. Fix: give a PEFT adapter folder (adapter_config.json, adapter_model.safetensors) or a FedTune adapter file.", path);
        }
        using var stream = File.OpenRead(path);
        return AdapterWireFormat.Read(stream, path);
    }

    /// <summary>
    /// Trains a fresh LoRA adapter with <paramref name="recipe"/> (its LoRA shape, batch, schedule, padding side; the
    /// initial LoRA from <paramref name="seed"/>), scored on <paramref name="heldOut"/> after each step count in
    /// <paramref name="evalAtSteps"/>. Chunk k trains what round k+1 trains, so it starts from round k+1's rate. Used by the baselines.
    /// </summary>
    public IReadOnlyList<(long Steps, EvalMetrics Eval, double TrainLoss)> TrainFreshAdapter(
        IReadOnlyList<TokenizedExample> train, HeldOutBySpecialty heldOut, TrainingRecipe recipe, int seed,
        IReadOnlyList<long> evalAtSteps, Action<long, double>? onStep, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(heldOut);
        ArgumentNullException.ThrowIfNull(recipe);
        ArgumentNullException.ThrowIfNull(evalAtSteps);
        if (_adapterAttached)
        {
            throw new InvalidOperationException("A baseline needs the plain base model: load a new session for it.");
        }
        LoraInjector.Apply(_model, LoraAdapterConfig.From(recipe), seed);
        _adapterAttached = true;
        _model.GradientCheckpointing = recipe.GradientCheckpointing;
        var stepRecipe = recipe with { LoggingSteps = 1 };
        var points = new List<(long, EvalMetrics, double)>();
        long done = 0;
        int chunk = 0;
        foreach (var target in evalAtSteps)
        {
            int steps = (int)(target - done);
            if (steps <= 0) continue;
            var run = new TrainerRun(recipe.LearningRateForRound(chunk + 1, evalAtSteps.Count), steps, seed + chunk);
            var result = new CausalLmTrainer(_model, stepRecipe, run, new CausalLmBatchCollator(Tokenizer.PadTokenId, recipe.PaddingSide))
                .Train(train, new Progress(onStep, done), cancellationToken);
            done = target;
            chunk++;
            points.Add((done, heldOut.Score(this, "baseline", "baseline", cancellationToken).All, result.MeanLoss));
        }
        return points;
    }

    /// <summary>Writes the adapter attached by <see cref="TrainFreshAdapter"/> (as trained so far) to <paramref name="folder"/> in PEFT layout.</summary>
    public void SaveTrainedAdapter(LoraAdapterConfig config, string folder)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (!_adapterAttached)
        {
            throw new InvalidOperationException("No adapter is attached to save: train one with TrainFreshAdapter first.");
        }
        PeftAdapterFolder.Save(folder, LoraAdapterExchange.Export(_model, config));
    }

    /// <summary>Writes the adapter in PEFT layout and the merged model (base + adapter) in Hugging Face layout.</summary>
    public void Export(LoraAdapter adapter, string adapterFolder, string mergedFolder)
    {
        ArgumentNullException.ThrowIfNull(adapter);
        PeftAdapterFolder.Save(adapterFolder, adapter);
        UseAdapter(adapter);
        var tokenizerFile = Path.Combine(ModelFolder, HuggingFaceModelWriter.TokenizerFile);
        HuggingFaceModelWriter.Save(_model, mergedFolder, File.Exists(tokenizerFile) ? File.ReadAllText(tokenizerFile) : null, mergeLora: true);
    }

    public void Dispose() => _model.Dispose();

    private sealed class Progress(Action<long, double>? onStep, long offset) : IProgress<TrainingLogEntry>
    {
        public void Report(TrainingLogEntry value) => onStep?.Invoke(offset + value.Step, value.Loss);
    }
}
