using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace FedTune.Training.Modeling;

/// <summary>
/// The GPT-NeoX (Pythia) hyper-parameters read from a Hugging Face <c>config.json</c>. Every key that changes the math is
/// either honoured or rejected by <see cref="Validate"/>; defaults are those of <c>transformers.GPTNeoXConfig</c>.
/// </summary>
public sealed record GptNeoXConfig
{
    /// <summary>The only <c>model_type</c> this implementation computes.</summary>
    public const string ModelType = "gpt_neox";

    public int VocabSize { get; init; } = 50432;
    public int HiddenSize { get; init; } = 6144;
    public int NumHiddenLayers { get; init; } = 44;
    public int NumAttentionHeads { get; init; } = 64;
    public int IntermediateSize { get; init; } = 24576;
    public string HiddenAct { get; init; } = "gelu";
    public double RotaryPct { get; init; } = 0.25;
    public double RotaryEmbBase { get; init; } = 10000;
    public double AttentionDropout { get; init; }
    public double HiddenDropout { get; init; }
    public int MaxPositionEmbeddings { get; init; } = 2048;
    public double InitializerRange { get; init; } = 0.02;
    public double LayerNormEps { get; init; } = 1e-5;
    public bool UseParallelResidual { get; init; } = true;
    public bool TieWordEmbeddings { get; init; }
    public bool AttentionBias { get; init; } = true;
    public int? BosTokenId { get; init; } = 0;
    public int? EosTokenId { get; init; } = 2;
    public int? PadTokenId { get; init; }

    /// <summary>Width of one attention head.</summary>
    public int HeadSize => HiddenSize / NumAttentionHeads;

    /// <summary>How many leading dimensions of each head get the rotary embedding (HF: int(head_size * rotary_pct)).</summary>
    public int RotaryDims => (int)(HeadSize * RotaryPct);

    /// <summary>The activation between dense_h_to_4h and dense_4h_to_h.</summary>
    public ActivationKind Activation => HiddenAct switch
    {
        "gelu" => ActivationKind.GeluExact,
        "gelu_new" or "gelu_fast" or "gelu_pytorch_tanh" => ActivationKind.GeluTanh,
        "relu" => ActivationKind.Relu,
        _ => throw new InvalidDataException(
            $"config.json hidden_act '{HiddenAct}' is not supported; use gelu, gelu_new, gelu_fast, gelu_pytorch_tanh or relu."),
    };

    /// <summary>Throws <see cref="InvalidDataException"/> naming the first inconsistent value.</summary>
    public GptNeoXConfig Validate()
    {
        static void Positive(int value, string key)
        {
            if (value <= 0)
                throw new InvalidDataException($"config.json {key} must be a positive integer, got {value}.");
        }

        Positive(VocabSize, "vocab_size");
        Positive(HiddenSize, "hidden_size");
        Positive(NumHiddenLayers, "num_hidden_layers");
        Positive(NumAttentionHeads, "num_attention_heads");
        Positive(IntermediateSize, "intermediate_size");
        Positive(MaxPositionEmbeddings, "max_position_embeddings");
        if (HiddenSize % NumAttentionHeads != 0)
            throw new InvalidDataException(
                $"config.json hidden_size {HiddenSize} is not divisible by num_attention_heads {NumAttentionHeads}.");
        if (RotaryPct is < 0 or > 1 || double.IsNaN(RotaryPct))
            throw new InvalidDataException($"config.json rotary_pct must lie in [0, 1], got {RotaryPct}.");
        if (RotaryDims % 2 != 0)
            throw new InvalidDataException(
                $"config.json rotary_pct {RotaryPct} gives {RotaryDims} rotary dimensions per head (head size {HeadSize}); it must be even.");
        if (RotaryEmbBase <= 0)
            throw new InvalidDataException($"config.json rotary_emb_base must be positive, got {RotaryEmbBase}.");
        if (LayerNormEps <= 0)
            throw new InvalidDataException($"config.json layer_norm_eps must be positive, got {LayerNormEps}.");
        if (AttentionDropout is < 0 or >= 1 || HiddenDropout is < 0 or >= 1)
            throw new InvalidDataException("config.json attention_dropout and hidden_dropout must lie in [0, 1).");
        _ = Activation;
        return this;
    }

    /// <summary>Reads and validates <c>config.json</c> from a model folder or a file path.</summary>
    public static GptNeoXConfig Load(string path)
    {
        var file = Directory.Exists(path) ? Path.Combine(path, "config.json") : path;
        if (!File.Exists(file))
            throw new FileNotFoundException(
                $"No config.json at '{file}': a Hugging Face model folder needs config.json next to its weights.", file);
        try
        {
            return FromJson(File.ReadAllText(file));
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{file}: {e.Message}", e);
        }
    }

    /// <summary>Parses the text of a <c>config.json</c>.</summary>
    public static GptNeoXConfig FromJson(string json)
    {
        JsonObject root;
        try
        {
            root = JsonNode.Parse(json) as JsonObject
                ?? throw new InvalidDataException("config.json is not a JSON object.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"config.json is not valid JSON: {e.Message}", e);
        }

        var modelType = root["model_type"]?.GetValue<string>();
        if (modelType != ModelType)
            throw new InvalidDataException(
                $"Unknown architecture: config.json model_type is '{modelType ?? "(missing)"}', but only '{ModelType}' (GPT-NeoX / Pythia) is supported.");

        if (root["rope_scaling"] is JsonNode scaling && scaling.GetValueKind() != JsonValueKind.Null)
            throw new InvalidDataException(
                $"config.json rope_scaling {scaling.ToJsonString()} is not supported; only unscaled rotary embeddings (rope_scaling: null) are.");

        var defaults = new GptNeoXConfig();
        var config = new GptNeoXConfig
        {
            VocabSize = Int(root, "vocab_size", defaults.VocabSize),
            HiddenSize = Int(root, "hidden_size", defaults.HiddenSize),
            NumHiddenLayers = Int(root, "num_hidden_layers", defaults.NumHiddenLayers),
            NumAttentionHeads = Int(root, "num_attention_heads", defaults.NumAttentionHeads),
            IntermediateSize = Int(root, "intermediate_size", defaults.IntermediateSize),
            HiddenAct = root["hidden_act"]?.GetValue<string>() ?? defaults.HiddenAct,
            RotaryPct = Double(root, "rotary_pct", Double(root, "partial_rotary_factor", defaults.RotaryPct)),
            RotaryEmbBase = Double(root, "rotary_emb_base", Double(root, "rope_theta", defaults.RotaryEmbBase)),
            AttentionDropout = Double(root, "attention_dropout", 0),
            HiddenDropout = Double(root, "hidden_dropout", 0),
            MaxPositionEmbeddings = Int(root, "max_position_embeddings", defaults.MaxPositionEmbeddings),
            InitializerRange = Double(root, "initializer_range", defaults.InitializerRange),
            LayerNormEps = Double(root, "layer_norm_eps", defaults.LayerNormEps),
            UseParallelResidual = Bool(root, "use_parallel_residual", defaults.UseParallelResidual),
            TieWordEmbeddings = Bool(root, "tie_word_embeddings", defaults.TieWordEmbeddings),
            AttentionBias = Bool(root, "attention_bias", defaults.AttentionBias),
            BosTokenId = NullableInt(root, "bos_token_id", defaults.BosTokenId),
            EosTokenId = NullableInt(root, "eos_token_id", defaults.EosTokenId),
            PadTokenId = NullableInt(root, "pad_token_id", null),
        };
        return config.Validate();
    }

    /// <summary>The <c>config.json</c> text Hugging Face would write for this configuration.</summary>
    public string ToJson()
    {
        var root = new JsonObject
        {
            ["architectures"] = new JsonArray("GPTNeoXForCausalLM"),
            ["model_type"] = ModelType,
            ["vocab_size"] = VocabSize,
            ["hidden_size"] = HiddenSize,
            ["num_hidden_layers"] = NumHiddenLayers,
            ["num_attention_heads"] = NumAttentionHeads,
            ["intermediate_size"] = IntermediateSize,
            ["hidden_act"] = HiddenAct,
            ["rotary_pct"] = RotaryPct,
            ["rotary_emb_base"] = RotaryEmbBase,
            ["attention_dropout"] = AttentionDropout,
            ["hidden_dropout"] = HiddenDropout,
            ["max_position_embeddings"] = MaxPositionEmbeddings,
            ["initializer_range"] = InitializerRange,
            ["layer_norm_eps"] = LayerNormEps,
            ["use_parallel_residual"] = UseParallelResidual,
            ["tie_word_embeddings"] = TieWordEmbeddings,
            ["attention_bias"] = AttentionBias,
            ["rope_scaling"] = null,
            ["bos_token_id"] = BosTokenId,
            ["eos_token_id"] = EosTokenId,
            ["torch_dtype"] = "float32",
            ["use_cache"] = true,
        };
        if (PadTokenId is int pad)
            root["pad_token_id"] = pad;
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    private static JsonNode? Present(JsonObject root, string key) =>
        root[key] is JsonNode node && node.GetValueKind() != JsonValueKind.Null ? node : null;

    private static int Int(JsonObject root, string key, int fallback)
    {
        var node = Present(root, key);
        if (node is null) return fallback;
        if (node.GetValueKind() != JsonValueKind.Number || !int.TryParse(node.ToJsonString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value))
            throw new InvalidDataException($"config.json {key} must be an integer, got {node.ToJsonString()}.");
        return value;
    }

    private static int? NullableInt(JsonObject root, string key, int? fallback)
    {
        if (!root.ContainsKey(key)) return fallback;
        if (Present(root, key) is null) return null;
        // eos_token_id may be a list in some configs; the first entry is the end-of-text token.
        if (root[key] is JsonArray list)
            return list.Count == 0 ? null : list[0]!.GetValue<int>();
        return Int(root, key, 0);
    }

    private static double Double(JsonObject root, string key, double fallback)
    {
        var node = Present(root, key);
        if (node is null) return fallback;
        if (node.GetValueKind() != JsonValueKind.Number)
            throw new InvalidDataException($"config.json {key} must be a number, got {node.ToJsonString()}.");
        return node.GetValue<double>();
    }

    private static bool Bool(JsonObject root, string key, bool fallback)
    {
        var node = Present(root, key);
        if (node is null) return fallback;
        return node.GetValueKind() switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw new InvalidDataException($"config.json {key} must be true or false, got {node.ToJsonString()}."),
        };
    }
}

/// <summary>The MLP activation named by <c>hidden_act</c>.</summary>
public enum ActivationKind
{
    /// <summary>Exact erf GELU (<c>gelu</c>).</summary>
    GeluExact,

    /// <summary>The tanh approximation (<c>gelu_new</c>, <c>gelu_fast</c>, <c>gelu_pytorch_tanh</c>).</summary>
    GeluTanh,

    /// <summary>ReLU.</summary>
    Relu,
}
