using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace FedTune.Core.Configuration;

/// <summary>
/// Reads the FedTune YAML (the FlowerTune seed unchanged, plus an optional <c>federation:</c> section) into
/// validated records. <c>lora:</c> may sit under <c>model:</c> or at the top level, <c>training_arguments:</c>
/// under <c>train:</c> or at the top level. Unknown keys, wrong types and out-of-range values are
/// <see cref="ConfigException"/>s naming file, line, key and the expected value.
/// </summary>
public static class FedTuneConfigLoader
{
    private static readonly Dictionary<string, PaddingSide> PaddingSides = new(StringComparer.Ordinal)
    {
        ["left"] = PaddingSide.Left,
        ["right"] = PaddingSide.Right,
    };

    private static readonly Dictionary<string, LrSchedulerType> Schedulers = new(StringComparer.Ordinal)
    {
        ["linear"] = LrSchedulerType.Linear,
        ["cosine"] = LrSchedulerType.Cosine,
        ["constant"] = LrSchedulerType.Constant,
        ["constant_with_warmup"] = LrSchedulerType.ConstantWithWarmup,
    };

    private static readonly Dictionary<string, Aggregation.WeightingKind> Weightings = new(StringComparer.Ordinal)
    {
        ["budget"] = Aggregation.WeightingKind.Budget,
        ["capped"] = Aggregation.WeightingKind.Capped,
        ["uniform"] = Aggregation.WeightingKind.Uniform,
    };

    private static readonly Dictionary<string, QuorumFailurePolicy> QuorumPolicies = new(StringComparer.Ordinal)
    {
        ["fail"] = QuorumFailurePolicy.Fail,
        ["retry"] = QuorumFailurePolicy.Retry,
    };

    private static readonly Dictionary<string, StrategyName> Strategies = new(StringComparer.Ordinal)
    {
        ["fedavg"] = StrategyName.FedAvg,
        ["fedavgm"] = StrategyName.FedAvgM,
        ["fedadagrad"] = StrategyName.FedAdagrad,
        ["fedadam"] = StrategyName.FedAdam,
        ["fedyogi"] = StrategyName.FedYogi,
        ["fedprox"] = StrategyName.FedProx,
        ["median"] = StrategyName.Median,
        ["trimmed_mean"] = StrategyName.TrimmedMean,
        ["norm_bounded"] = StrategyName.NormBounded,
    };

    private static readonly Dictionary<string, Compression.WirePrecision> WirePrecisionNames =
        Enum.GetValues<Compression.WirePrecision>().ToDictionary(Compression.WirePrecisions.Name, StringComparer.Ordinal);

    /// <summary>Reads and validates a YAML file.</summary>
    public static FedTuneConfig LoadFile(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new ConfigException($"Configuration file '{path}' does not exist.");
        }

        return Parse(File.ReadAllText(path), path) with { SourcePath = Path.GetFullPath(path) };
    }

    /// <summary>Parses YAML text; <paramref name="sourceName"/> names it in errors.</summary>
    public static FedTuneConfig Parse(string yaml, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        ArgumentNullException.ThrowIfNull(sourceName);
        var root = LoadRoot(yaml, sourceName);
        var dataset = ReadDataset(root.Section("dataset", required: true)!);
        var notices = new List<string>();
        var model = root.Section("model", required: true)!;
        var train = root.Section("train", required: true)!;
        var lora = OneOf(root, model, "lora", "LoRA settings are given twice (model.lora and lora); keep one.");
        var arguments = OneOf(root, train, "training_arguments",
            "training arguments are given twice (train.training_arguments and training_arguments); keep one.");
        var federationSection = root.Section("federation");
        // One seed: federation.seed when given, else training_arguments.seed (HF's), else 42.
        int trainingSeed = arguments?.Int("seed", ConfigDefaults.Seed, 0) ?? ConfigDefaults.Seed;
        var federation = ReadFederation(federationSection, trainingSeed);
        var recipe = ReadRecipe(model, lora, train, arguments, federation.Strategy, notices);
        int saveEveryRound = train.Int("save_every_round", ConfigDefaults.SaveEveryRound, 1);
        model.RejectUnknownKeys();
        train.RejectUnknownKeys();
        root.RejectUnknownKeys();
        var config = new FedTuneConfig
        {
            Dataset = dataset,
            Recipe = recipe,
            Federation = federation,
            SaveEveryRound = saveEveryRound,
            KeysWithoutEffect = notices,
        };
        CheckCrossFieldRules(config, root);
        return config;
    }

    private static YamlSection LoadRoot(string yaml, string source)
    {
        YamlErrorHints.RejectTabIndentation(yaml, source);
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException ex)
        {
            throw YamlErrorHints.Explain(ex, source);
        }
        catch (InvalidOperationException ex)
        {
            // YamlDotNet's scanner throws this for some unterminated flow collections ('[' or '{' never closed).
            throw new ConfigException(source, 1, 1, null, "not valid YAML: a '[' or '{' is never closed, or the file ends inside a value.", ex);
        }

        if (stream.Documents.Count == 0)
        {
            throw new ConfigException(source, 1, 1, null, "the file is empty; it needs dataset:, model: and train: sections.");
        }

        return stream.Documents[0].RootNode is YamlMappingNode mapping
            ? new YamlSection(mapping, string.Empty, source)
            : throw new ConfigException(source, 1, 1, null, "the top level must be a set of sections (dataset:, model:, train:, federation:).");
    }

    private static DatasetConfig ReadDataset(YamlSection section)
    {
        var dataset = new DatasetConfig { Name = section.RequiredString("name", "a hub id such as medalpaca/medical_meadow_medical_flashcards or a local path") };
        section.RejectUnknownKeys();
        return dataset;
    }

    private static YamlSection? OneOf(YamlSection root, YamlSection parent, string key, string twice)
    {
        var nested = parent.Section(key);
        var topLevel = root.Section(key);
        if (nested is not null && topLevel is not null)
        {
            throw root.Error(key, twice);
        }

        return nested ?? topLevel;
    }

    /// <summary>The recipe from model:, lora:, train: and training_arguments: (each key validated where it stands).</summary>
    private static TrainingRecipe ReadRecipe(YamlSection model, YamlSection? lora, YamlSection train, YamlSection? s,
        StrategyConfig strategy, List<string> notices)
    {
        var name = model.RequiredString("name", "a hub id such as EleutherAI/pythia-70m or a local folder");
        var bits = model.NullableInt("quantization", null, 0, 64);
        var quantization = bits switch
        {
            null => BaseQuantization.None,
            4 => BaseQuantization.Nf4,
            8 => BaseQuantization.Int8,
            _ => throw model.Error("quantization", $"{bits} is not supported; expected 4 (NF4), 8 or null (no quantization)."),
        };
        if (model.Has("use_fast_tokenizer"))
        {
            var fast = model.Bool("use_fast_tokenizer", ConfigDefaults.UseFastTokenizer);
            notices.Add(fast
                ? "model.use_fast_tokenizer: true has no effect here: FedTune always uses the model's fast tokenizer (tokenizer.json)."
                : "model.use_fast_tokenizer: false has no effect here: FedTune has only the fast tokenizer (tokenizer.json), and uses it.");
        }

        bool checkpointing = model.Bool("gradient_checkpointing", ConfigDefaults.GradientCheckpointing);
        var lrMax = train.NullableDouble("learning_rate_max", null, 0, 10, minExclusive: true);
        var lrMin = train.NullableDouble("learning_rate_min", null, 0, 10);
        if ((lrMax is null) != (lrMin is null))
        {
            throw train.Error(lrMax is null ? "learning_rate_min" : "learning_rate_max",
                "learning_rate_max and learning_rate_min go together (FlowerTune's per-round cosine schedule); give both or neither.");
        }

        if (lrMin > lrMax)
        {
            throw train.Error("learning_rate_min", $"{lrMin} is above learning_rate_max ({lrMax}).");
        }

        var recipe = new TrainingRecipe
        {
            BaseModel = name,
            Quantization = quantization,
            Lora = ReadLora(lora),
            SeqLength = train.Int("seq_length", ConfigDefaults.SeqLength, 8, 1 << 20),
            PaddingSide = train.Enum("padding_side", ConfigDefaults.Padding, PaddingSides),
            WirePrecision = train.Enum("wire_precision", Compression.WirePrecision.Fp32, WirePrecisionNames),
            EvalEveryRounds = train.Int("eval_every_rounds", 1, 0, int.MaxValue),
            EvalMaxExamples = train.NullableInt("eval_max_examples", null, 1, int.MaxValue),
            RecordPrivacy = ReadRecordPrivacy(train.Section("differential_privacy")),
            LearningRateMin = lrMin,
            ProximalMu = strategy.ProximalMu,
        };
        if (recipe.RecordPrivacy is not null && recipe.ProximalMu > 0)
        {
            throw train.Error("differential_privacy", TrainingRecipe.RecordPrivacyWithFedProx);
        }

        if (s is null)
        {
            return recipe with { GradientCheckpointing = checkpointing, LearningRate = lrMax ?? ConfigDefaults.LearningRate };
        }

        var learningRate = s.NullableDouble("learning_rate", ConfigDefaults.LearningRate, 0, 10, minExclusive: true);
        recipe = recipe with
        {
            GradientCheckpointing = checkpointing | s.Bool("gradient_checkpointing", ConfigDefaults.GradientCheckpointing),
            LearningRate = lrMax ?? learningRate ?? ConfigDefaults.LearningRate,
            BatchSize = s.Int("per_device_train_batch_size", ConfigDefaults.PerDeviceTrainBatchSize, 1, 65536),
            GradientAccumulationSteps = s.Int("gradient_accumulation_steps", ConfigDefaults.GradientAccumulationSteps, 1, 65536),
            LoggingSteps = s.Int("logging_steps", ConfigDefaults.LoggingSteps, 1),
            MaxSteps = s.Int("max_steps", ConfigDefaults.MaxSteps, -1),
            NumTrainEpochs = s.Double("num_train_epochs", ConfigDefaults.NumTrainEpochs, 0, 1e6, minExclusive: true),
            SaveSteps = s.Int("save_steps", ConfigDefaults.SaveSteps, 1),
            SaveTotalLimit = s.NullableInt("save_total_limit", null, 1, int.MaxValue),
            LrSchedulerType = s.Enum("lr_scheduler_type", ConfigDefaults.LrScheduler, Schedulers),
            WarmupSteps = s.Int("warmup_steps", ConfigDefaults.WarmupSteps, 0),
            WarmupRatio = s.Double("warmup_ratio", ConfigDefaults.WarmupRatio, 0, 1, maxExclusive: true),
            WeightDecay = s.Double("weight_decay", ConfigDefaults.WeightDecay, 0, 1e3),
            MaxGradNorm = s.Double("max_grad_norm", ConfigDefaults.MaxGradNorm, 0, 1e9),
            AdamBeta1 = s.Double("adam_beta1", ConfigDefaults.AdamBeta1, 0, 1, maxExclusive: true),
            AdamBeta2 = s.Double("adam_beta2", ConfigDefaults.AdamBeta2, 0, 1, maxExclusive: true),
            AdamEpsilon = s.Double("adam_epsilon", ConfigDefaults.AdamEpsilon, 0, 1, minExclusive: true),
        };
        if (recipe.MaxSteps == 0)
        {
            throw s.Error("max_steps", "0 steps trains nothing; expected a positive number, or -1 to train for num_train_epochs.");
        }

        var reportTo = s.StringList("report_to", []) ?? [];
        if (reportTo.Any(r => r is not ("none" or "tensorboard" or "wandb" or "mlflow" or "azure_ml" or "all")))
        {
            throw s.Error("report_to", $"expected null, none or a list of integrations (tensorboard, wandb, mlflow, azure_ml, all); got {string.Join(", ", reportTo)}.");
        }

        if (reportTo.Any(r => r != "none"))
        {
            notices.Add($"training_arguments.report_to: {string.Join(", ", reportTo)} has no effect here: FedTune bundles no reporting integration; " +
                        "the metrics are in the run's report.md, metrics.csv and rounds.json.");
        }

        if (s.String("output_dir") is { } outputDir)
        {
            notices.Add($"training_arguments.output_dir: '{outputDir}' has no effect here: agents keep checkpoints in their work folder " +
                        "and `fedtune simulate` writes to --output (default runs/simulate).");
        }

        s.Int("seed", ConfigDefaults.Seed, 0); // read above: it seeds the federation when federation.seed is absent
        s.RejectUnknownKeys();
        return recipe;
    }

    private static LoraConfig ReadLora(YamlSection? section)
    {
        if (section is null)
        {
            return new LoraConfig();
        }

        var lora = new LoraConfig
        {
            R = section.Int("peft_lora_r", ConfigDefaults.LoraR, 1, 4096),
            Alpha = section.Double("peft_lora_alpha", ConfigDefaults.LoraAlpha, 0, 1e6, minExclusive: true),
            TargetModules = section.StringList("target_modules", null),
            Dropout = section.Double("peft_lora_dropout", ConfigDefaults.LoraDropout, 0, 1, maxExclusive: true),
            FreezeA = section.Bool("freeze_a", ConfigDefaults.FreezeA),
        };
        section.RejectUnknownKeys();
        return lora;
    }

    private static FederationConfig ReadFederation(YamlSection? s, int trainingSeed)
    {
        if (s is null)
        {
            return new FederationConfig { Seed = trainingSeed };
        }

        var federation = new FederationConfig
        {
            Rounds = s.Int("rounds", ConfigDefaults.Rounds, 1, 100_000),
            Hospitals = ReadHospitals(s),
            FractionFit = s.Double("fraction_fit", ConfigDefaults.FractionFit, 0, 1, minExclusive: true),
            MinFitClients = s.Int("min_fit_clients", ConfigDefaults.MinFitClients, 1),
            MinAvailableClients = s.Int("min_available_clients", ConfigDefaults.MinAvailableClients, 1),
            RoundDeadline = ReadDuration(s, "round_deadline", ConfigDefaults.RoundDeadline),
            OnQuorumFailure = s.Enum("on_quorum_failure", ConfigDefaults.OnQuorumFailure, QuorumPolicies),
            MaxRetries = s.Int("max_retries", ConfigDefaults.MaxRetries, 0, 1000),
            Strategy = ReadStrategy(s.Section("strategy")),
            DifferentialPrivacy = ReadPrivacy(s.Section("differential_privacy")),
            Validation = ReadValidation(s.Section("validation")),
            Weighting = s.Has("weighting") ? s.Enum("weighting", Aggregation.WeightingKind.Budget, Weightings) : null,
            WeightingCap = s.Double("weighting_cap", ConfigDefaults.WeightingCap, 1, 1e6),
            Seed = s.Int("seed", trainingSeed, 0),
            SecureAggregation = ReadSecureAggregation(s.Section("secure_aggregation")),
        };
        if (federation.MinAvailableClients < federation.MinFitClients)
        {
            throw s.Error("min_available_clients", $"{federation.MinAvailableClients} is below min_fit_clients ({federation.MinFitClients}); a round could never start.");
        }

        s.RejectUnknownKeys();
        return federation;
    }

    private static SecureAggregationConfig? ReadSecureAggregation(YamlSection? s)
    {
        if (s is null || !s.Bool("enabled", false))
        {
            s?.RejectUnknownKeys();
            return null;
        }

        var config = new SecureAggregationConfig
        {
            Threshold = s.NullableInt("threshold", null, 2, 255),
            Neighbours = s.NullableInt("neighbours", null, 2, 254),
        };
        if (config.Neighbours is { } k && k % 2 != 0)
        {
            throw s.Error("neighbours", $"{k} is odd; each hospital masks with neighbours/2 on each side of a ring, so use an even number (or leave it out for every pair).");
        }

        s.RejectUnknownKeys();
        return config;
    }

    private static List<HospitalConfig> ReadHospitals(YamlSection s)
    {
        var node = s.Raw("hospitals");
        if (node is null || YamlSection.IsNull(node))
        {
            return [];
        }

        if (node is not YamlSequenceNode sequence)
        {
            throw s.Error("hospitals", "expected a list of hospitals, each '- id: ...' with data: and format:.");
        }

        var hospitals = new List<HospitalConfig>();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < sequence.Children.Count; i++)
        {
            if (sequence.Children[i] is not YamlMappingNode item)
            {
                throw new ConfigException(s.Source, YamlSection.Line(sequence.Children[i]), YamlSection.Column(sequence.Children[i]),
                    $"{s.Path}.hospitals[{i}]", "each hospital must be a section with id:, data: and format:.");
            }

            var h = new YamlSection(item, $"{s.Path}.hospitals[{i}]", s.Source);
            var hospital = new HospitalConfig
            {
                Id = h.RequiredString("id", "a short unique name such as hospital-a"),
                DataPaths = h.StringList("data", []) ?? [],
                Format = h.String("format", ConfigDefaults.HospitalDataFormat)!,
            };
            h.RejectUnknownKeys();
            if (!System.Text.RegularExpressions.Regex.IsMatch(hospital.Id, "^[a-z0-9][a-z0-9-]{0,62}$"))
            {
                throw h.Error("id", $"'{hospital.Id}' is not a valid id; use lowercase letters, digits and '-' (it names blob folders).");
            }

            if (!ids.Add(hospital.Id))
            {
                throw h.Error("id", $"hospital '{hospital.Id}' is listed twice.");
            }

            hospitals.Add(hospital);
        }

        return hospitals;
    }

    private static StrategyConfig ReadStrategy(YamlSection? s)
    {
        if (s is null)
        {
            return StrategyConfig.For(ConfigDefaults.Strategy);
        }

        var name = s.Enum("name", ConfigDefaults.Strategy, Strategies);
        var defaults = StrategyConfig.For(name);
        var strategy = new StrategyConfig
        {
            Name = name,
            ServerLearningRate = s.Double("server_learning_rate", defaults.ServerLearningRate, 0, 1e3, minExclusive: true),
            ServerMomentum = s.Double("server_momentum", defaults.ServerMomentum, 0, 1, maxExclusive: true),
            Eta = s.Double("eta", defaults.Eta, 0, 1e3, minExclusive: true),
            EtaL = s.Double("eta_l", defaults.EtaL, 0, 1e3, minExclusive: true),
            Beta1 = s.Double("beta_1", defaults.Beta1, 0, 1, maxExclusive: true),
            Beta2 = s.Double("beta_2", defaults.Beta2, 0, 1, maxExclusive: true),
            Tau = s.Double("tau", defaults.Tau, 0, 1e3, minExclusive: true),
            ProximalMu = s.Double("proximal_mu", defaults.ProximalMu, 0, 1e6),
            TrimFraction = s.Double("trim_fraction", defaults.TrimFraction, 0, 0.5, maxExclusive: true),
            NormBound = s.Double("norm_bound", defaults.NormBound, 0, 1e12, minExclusive: true),
        };
        s.RejectUnknownKeys();
        return strategy;
    }

    private static DifferentialPrivacyConfig? ReadPrivacy(YamlSection? s) =>
        ReadGaussianMechanism(s, "DP", noiseMayBeZero: true) is { } m
            ? new DifferentialPrivacyConfig { ClipNorm = m.ClipNorm, NoiseMultiplier = m.NoiseMultiplier, Delta = m.Delta }
            : null;

    private static RecordPrivacyConfig? ReadRecordPrivacy(YamlSection? s) =>
        ReadGaussianMechanism(s, "record-level DP", noiseMayBeZero: false) is { } m
            ? new RecordPrivacyConfig { ClipNorm = m.ClipNorm, NoiseMultiplier = m.NoiseMultiplier, Delta = m.Delta }
            : null;

    /// <summary>clip_norm, noise_multiplier and delta of a DP section (federation's or train's), each validated where it stands.</summary>
    private static (double ClipNorm, double NoiseMultiplier, double Delta)? ReadGaussianMechanism(YamlSection? s, string what, bool noiseMayBeZero)
    {
        if (s is null)
        {
            return null;
        }

        if (!s.Has("clip_norm") || !s.Has("noise_multiplier"))
        {
            throw s.MissingError(s.Has("clip_norm") ? "noise_multiplier" : "clip_norm", $"a positive number ({what} needs both clip_norm and noise_multiplier)");
        }

        var mechanism = (
            s.Double("clip_norm", 0, 0, 1e12, minExclusive: true),
            s.Double("noise_multiplier", 0, 0, 1e6, minExclusive: !noiseMayBeZero),
            s.Double("delta", ConfigDefaults.Delta, 0, 1, minExclusive: true, maxExclusive: true));
        s.RejectUnknownKeys();
        return mechanism;
    }

    private static UpdateValidationConfig ReadValidation(YamlSection? s)
    {
        if (s is null)
        {
            return new UpdateValidationConfig();
        }

        var validation = new UpdateValidationConfig
        {
            MaxNormRatio = s.Double("max_norm_ratio", ConfigDefaults.MaxNormRatio, 1, 1e9, minExclusive: true),
            RequireManifestHash = s.Bool("require_manifest_hash", ConfigDefaults.RequireManifestHash),
        };
        if (!validation.RequireManifestHash)
        {
            throw s.Error("require_manifest_hash",
                "false is not supported: the orchestrator always checks every upload against the SHA-256 in its manifest (the protocol relies on it). Fix: delete the key or set it to true.");
        }
        s.RejectUnknownKeys();
        return validation;
    }

    private static TimeSpan ReadDuration(YamlSection s, string key, TimeSpan fallback)
    {
        var text = s.String(key);
        if (text is null)
        {
            return fallback;
        }

        var value = ParseDuration(text);
        return value is { } span && span > TimeSpan.Zero
            ? span
            : throw s.Error(key, $"'{text}' is not a positive duration; expected e.g. 90s, 30m, 2h or 01:30:00.");
    }

    /// <summary>Parses 90s, 30m, 2h, 1d or hh:mm:ss; null when not a duration.</summary>
    public static TimeSpan? ParseDuration(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        text = text.Trim();
        if (text.Length >= 2 && double.TryParse(text[..^1], NumberStyles.Float, CultureInfo.InvariantCulture, out var amount) && double.IsFinite(amount))
        {
            return char.ToLowerInvariant(text[^1]) switch
            {
                's' => TimeSpan.FromSeconds(amount),
                'm' => TimeSpan.FromMinutes(amount),
                'h' => TimeSpan.FromHours(amount),
                'd' => TimeSpan.FromDays(amount),
                _ => null,
            };
        }

        return text.Contains(':', StringComparison.Ordinal) && TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var span) ? span : null;
    }

    private static void CheckCrossFieldRules(FedTuneConfig config, YamlSection root)
    {
        var hospitals = config.Federation.Hospitals.Count;
        if (hospitals > 0 && hospitals < config.Federation.MinAvailableClients)
        {
            throw root.Error("federation", $"federation.min_available_clients is {config.Federation.MinAvailableClients} but only {hospitals} hospitals are listed; lower it or add hospitals.");
        }

        if (config.Federation.SecureAggregation is not null && SecureAggregationConfig.RefusalFor(config) is { } refusal)
        {
            throw root.Error("federation", refusal);
        }
    }
}
