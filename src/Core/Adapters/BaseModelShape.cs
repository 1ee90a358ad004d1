using System.Text.Json;

namespace FedTune.Core.Adapters;

/// <summary>One Linear layer of the base model that LoRA may wrap: its module path and its in/out widths.</summary>
public sealed record LinearModuleShape(string Name, int InFeatures, int OutFeatures);

/// <summary>
/// The dimensions of a GPT-NeoX (Pythia) base model that fix a LoRA adapter's shapes, read from the model's
/// Hugging Face <c>config.json</c> (no weights, no TorchSharp): what the orchestrator needs to create the round-0
/// adapter and to judge every upload against the base model rather than against another upload.
/// </summary>
public sealed record BaseModelShape
{
    public const string GptNeoX = "gpt_neox";

    public string ModelType { get; init; } = GptNeoX;
    public required int HiddenSize { get; init; }
    public required int IntermediateSize { get; init; }
    public required int NumHiddenLayers { get; init; }
    public required int VocabSize { get; init; }
    /// <summary>True when the output projection shares the input embedding (then there is no <c>embed_out</c> Linear).</summary>
    public bool TieWordEmbeddings { get; init; }

    /// <summary>Every Linear in model order, with the module paths PEFT uses (e.g. <c>gpt_neox.layers.0.attention.query_key_value</c>).</summary>
    public IReadOnlyList<LinearModuleShape> LinearModules()
    {
        var modules = new List<LinearModuleShape>(NumHiddenLayers * 4 + 1);
        for (int i = 0; i < NumHiddenLayers; i++)
        {
            var p = $"gpt_neox.layers.{i}.";
            modules.Add(new(p + "attention.query_key_value", HiddenSize, 3 * HiddenSize));
            modules.Add(new(p + "attention.dense", HiddenSize, HiddenSize));
            modules.Add(new(p + "mlp.dense_h_to_4h", HiddenSize, IntermediateSize));
            modules.Add(new(p + "mlp.dense_4h_to_h", IntermediateSize, HiddenSize));
        }
        if (!TieWordEmbeddings) modules.Add(new("embed_out", HiddenSize, VocabSize));
        return modules;
    }

    /// <summary>Reads the dimensions from a model folder's <c>config.json</c>.</summary>
    public static BaseModelShape FromFolder(string folder)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        var path = Path.Combine(folder, "config.json");
        if (!File.Exists(path))
        {
            throw new InvalidDataException($"{path} does not exist. Fix: point at a Hugging Face model folder (its config.json is enough to size the adapter).");
        }
        return FromConfigJson(File.ReadAllText(path), path);
    }

    /// <summary>Reads the dimensions from the text of a Hugging Face <c>config.json</c>; errors name the key and the fix.</summary>
    public static BaseModelShape FromConfigJson(string json, string source)
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{source} is not valid JSON ({e.Message}). Fix: use the model's Hugging Face config.json.", e);
        }
        using (document)
        {
            var root = document.RootElement;
            var type = root.TryGetProperty("model_type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : "";
            if (type != GptNeoX)
            {
                throw new InvalidDataException($"{source}: model_type is '{type}', but FedTune trains GPT-NeoX (Pythia) models ('gpt_neox'). Fix: use a GPT-NeoX base model.");
            }
            int Int(string key)
            {
                if (!root.TryGetProperty(key, out var v) || v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out var value) || value <= 0)
                {
                    throw new InvalidDataException($"{source}: '{key}' is missing or not a positive integer. Fix: use the model's complete Hugging Face config.json.");
                }
                return value;
            }
            return new BaseModelShape
            {
                ModelType = type,
                HiddenSize = Int("hidden_size"),
                IntermediateSize = Int("intermediate_size"),
                NumHiddenLayers = Int("num_hidden_layers"),
                VocabSize = Int("vocab_size"),
                TieWordEmbeddings = root.TryGetProperty("tie_word_embeddings", out var tie) && tie.ValueKind == JsonValueKind.True,
            };
        }
    }
}
