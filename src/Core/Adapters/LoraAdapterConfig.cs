using System.Text;
using System.Text.Json;

namespace FedTune.Core.Adapters;

/// <summary>
/// PEFT's <c>adapter_config.json</c> for a LoRA adapter. Keys keep PEFT's meaning; keys this type does not model
/// are kept in <see cref="Extra"/> and written back unchanged, so a PEFT config survives a round trip.
/// </summary>
public sealed record LoraAdapterConfig
{
    /// <summary>Always "LORA".</summary>
    public string PeftType { get; init; } = "LORA";

    /// <summary>"CAUSAL_LM" for decoder-only language models.</summary>
    public string TaskType { get; init; } = "CAUSAL_LM";

    /// <summary>LoRA rank r (positive).</summary>
    public int R { get; init; } = 8;

    /// <summary>LoRA alpha; the update is scaled by alpha / r (alpha / sqrt(r) with rsLoRA).</summary>
    public double LoraAlpha { get; init; } = 8;

    /// <summary>Module names (or suffixes) LoRA wraps; null lets PEFT pick the architecture default.</summary>
    public IReadOnlyList<string>? TargetModules { get; init; }

    /// <summary>PEFT's regex form of target_modules (a string instead of a list); null when a list or null was given.</summary>
    public string? TargetModulesPattern { get; init; }

    /// <summary>Dropout probability applied to the LoRA input path during training.</summary>
    public double LoraDropout { get; init; }

    /// <summary>"none", "all" or "lora_only": which biases are trained.</summary>
    public string Bias { get; init; } = "none";

    /// <summary>Hub id or path of the base model.</summary>
    public string? BaseModelNameOrPath { get; init; }

    /// <summary>True when the wrapped layer stores weights as (in, out) (GPT-2 Conv1D); false for nn.Linear.</summary>
    public bool FanInFanOut { get; init; }

    /// <summary>True for a saved adapter that is used for inference.</summary>
    public bool InferenceMode { get; init; } = true;

    /// <summary>PEFT's init_lora_weights: "true", "false" or an init method name such as "gaussian".</summary>
    public string InitLoraWeights { get; init; } = "true";

    /// <summary>Extra modules trained and saved in full; null when none.</summary>
    public IReadOnlyList<string>? ModulesToSave { get; init; }

    /// <summary>Base model revision, if pinned.</summary>
    public string? Revision { get; init; }

    /// <summary>Rank-stabilized LoRA: scale by alpha / sqrt(r).</summary>
    public bool UseRslora { get; init; }

    /// <summary>Weight-decomposed LoRA (DoRA); FedTune adapters never use it.</summary>
    public bool UseDora { get; init; }

    /// <summary>Layer indices LoRA is applied to; null for all layers.</summary>
    public IReadOnlyList<int>? LayersToTransform { get; init; }

    /// <summary>Keys this type does not model, preserved verbatim.</summary>
    public IReadOnlyDictionary<string, JsonElement> Extra { get; init; } = new Dictionary<string, JsonElement>();

    /// <summary>The factor PEFT multiplies B·A by: alpha / r, or alpha / sqrt(r) with rsLoRA.</summary>
    public double Scaling => UseRslora ? LoraAlpha / Math.Sqrt(R) : LoraAlpha / R;

    /// <summary>
    /// The adapter config a recipe trains: r, alpha and dropout from <c>model.lora</c>, the base model from
    /// <c>model.name</c>, and the target modules (the recipe's, or those the trainer resolved, which PEFT saves
    /// instead of null; null lets the injector pick the architecture default).
    /// </summary>
    public static LoraAdapterConfig From(Configuration.TrainingRecipe recipe, IReadOnlyList<string>? resolvedTargetModules = null)
    {
        ArgumentNullException.ThrowIfNull(recipe);
        var targets = resolvedTargetModules ?? recipe.Lora.TargetModules;
        return new LoraAdapterConfig
        {
            R = recipe.Lora.R,
            LoraAlpha = recipe.Lora.Alpha,
            LoraDropout = recipe.Lora.Dropout,
            TargetModules = targets is { Count: > 0 } ? targets.Order(StringComparer.Ordinal).ToArray() : null,
            BaseModelNameOrPath = recipe.BaseModel,
        };
    }

    /// <summary>Parses <c>adapter_config.json</c> text; <paramref name="source"/> names the file in errors.</summary>
    public static LoraAdapterConfig FromJson(string json, string source) => LoraAdapterConfigJson.Parse(json, source);

    /// <summary>Serializes like PEFT (<c>json.dumps(indent=2, sort_keys=True)</c>).</summary>
    public string ToJson() => LoraAdapterConfigJson.Write(this);

    /// <summary>Checks the values PEFT itself would reject; returns the problems (empty when valid).</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (!string.Equals(PeftType, "LORA", StringComparison.Ordinal))
        {
            problems.Add($"peft_type is '{PeftType}'; only LORA adapters are supported.");
        }

        if (R <= 0)
        {
            problems.Add($"r is {R}; the LoRA rank must be a positive integer.");
        }

        if (!double.IsFinite(LoraAlpha) || LoraAlpha <= 0)
        {
            problems.Add($"lora_alpha is {LoraAlpha}; it must be a positive number.");
        }

        if (!double.IsFinite(LoraDropout) || LoraDropout < 0 || LoraDropout >= 1)
        {
            problems.Add($"lora_dropout is {LoraDropout}; it must be in [0, 1).");
        }

        if (Bias is not ("none" or "all" or "lora_only"))
        {
            problems.Add($"bias is '{Bias}'; expected none, all or lora_only.");
        }

        return problems;
    }

    /// <summary>Value equality on the JSON form (records compare lists by reference).</summary>
    public bool JsonEquals(LoraAdapterConfig other) =>
        other is not null && string.Equals(ToJson(), other.ToJson(), StringComparison.Ordinal);

    internal static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Number => "a number",
        JsonValueKind.String => "a string",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        JsonValueKind.Array => "a list",
        JsonValueKind.Object => "an object",
        _ => kind.ToString(),
    };

    internal static string Utf8(ReadOnlySpan<byte> bytes) => Encoding.UTF8.GetString(bytes);
}
