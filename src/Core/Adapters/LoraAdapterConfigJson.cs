using System.Text.Encodings.Web;
using System.Text.Json;

namespace FedTune.Core.Adapters;

/// <summary>Reads and writes <see cref="LoraAdapterConfig"/> as PEFT's JSON.</summary>
internal static class LoraAdapterConfigJson
{
    public static LoraAdapterConfig Parse(string json, string source)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException ex)
        {
            throw new AdapterFormatException($"Adapter config '{source}' is not valid JSON: {ex.Message}", ex);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new AdapterFormatException($"Adapter config '{source}' must be a JSON object.");
            }

            var config = new LoraAdapterConfig();
            var extra = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            var sawPeftType = false;
            var sawR = false;
            foreach (var p in root.EnumerateObject())
            {
                if (!seen.Add(p.Name))
                {
                    throw new AdapterFormatException($"Adapter config '{source}': key '{p.Name}' appears twice.");
                }

                var v = p.Value;
                switch (p.Name)
                {
                    case "peft_type": config = config with { PeftType = String(v, p.Name, source)! }; sawPeftType = true; break;
                    case "task_type": config = config with { TaskType = String(v, p.Name, source) ?? "CAUSAL_LM" }; break;
                    case "r": config = config with { R = Int(v, p.Name, source) }; sawR = true; break;
                    case "lora_alpha": config = config with { LoraAlpha = Number(v, p.Name, source) }; break;
                    case "target_modules" when v.ValueKind == JsonValueKind.String: config = config with { TargetModulesPattern = v.GetString() }; break;
                    case "target_modules": config = config with { TargetModules = StringList(v, p.Name, source) }; break;
                    case "lora_dropout": config = config with { LoraDropout = Number(v, p.Name, source) }; break;
                    case "bias": config = config with { Bias = String(v, p.Name, source) ?? "none" }; break;
                    case "base_model_name_or_path": config = config with { BaseModelNameOrPath = String(v, p.Name, source) }; break;
                    case "fan_in_fan_out": config = config with { FanInFanOut = Bool(v, p.Name, source) }; break;
                    case "inference_mode": config = config with { InferenceMode = Bool(v, p.Name, source) }; break;
                    case "init_lora_weights": config = config with { InitLoraWeights = InitWeights(v, p.Name, source) }; break;
                    case "modules_to_save": config = config with { ModulesToSave = StringList(v, p.Name, source) }; break;
                    case "revision": config = config with { Revision = String(v, p.Name, source) }; break;
                    case "use_rslora": config = config with { UseRslora = Bool(v, p.Name, source) }; break;
                    case "use_dora": config = config with { UseDora = Bool(v, p.Name, source) }; break;
                    case "layers_to_transform": config = config with { LayersToTransform = IntList(v, p.Name, source) }; break;
                    default: extra[p.Name] = v.Clone(); break;
                }
            }

            if (!sawPeftType || !sawR)
            {
                throw new AdapterFormatException(
                    $"Adapter config '{source}' lacks {(sawPeftType ? "r" : "peft_type")}; is this a PEFT LoRA adapter_config.json?");
            }

            return config with { Extra = extra };
        }
    }

    public static string Write(LoraAdapterConfig config)
    {
        var entries = new SortedDictionary<string, Action<Utf8JsonWriter>>(StringComparer.Ordinal);
        foreach (var (key, value) in config.Extra)
        {
            entries[key] = w => value.WriteTo(w);
        }

        entries["peft_type"] = w => w.WriteStringValue(config.PeftType);
        entries["task_type"] = w => w.WriteStringValue(config.TaskType);
        entries["r"] = w => w.WriteNumberValue(config.R);
        entries["lora_alpha"] = w => WriteNumber(w, config.LoraAlpha);
        entries["target_modules"] = w =>
        {
            if (config.TargetModulesPattern is not null)
            {
                w.WriteStringValue(config.TargetModulesPattern);
            }
            else
            {
                WriteList(w, config.TargetModules);
            }
        };
        entries["lora_dropout"] = w => WriteNumber(w, config.LoraDropout);
        entries["bias"] = w => w.WriteStringValue(config.Bias);
        entries["base_model_name_or_path"] = w => WriteNullable(w, config.BaseModelNameOrPath);
        entries["fan_in_fan_out"] = w => w.WriteBooleanValue(config.FanInFanOut);
        entries["inference_mode"] = w => w.WriteBooleanValue(config.InferenceMode);
        entries["init_lora_weights"] = w =>
        {
            if (bool.TryParse(config.InitLoraWeights, out var flag))
            {
                w.WriteBooleanValue(flag);
            }
            else
            {
                w.WriteStringValue(config.InitLoraWeights);
            }
        };
        entries["modules_to_save"] = w => WriteList(w, config.ModulesToSave);
        entries["revision"] = w => WriteNullable(w, config.Revision);
        entries["use_rslora"] = w => w.WriteBooleanValue(config.UseRslora);
        entries["use_dora"] = w => w.WriteBooleanValue(config.UseDora);
        entries["layers_to_transform"] = w =>
        {
            if (config.LayersToTransform is null)
            {
                w.WriteNullValue();
                return;
            }

            w.WriteStartArray();
            foreach (var layer in config.LayersToTransform)
            {
                w.WriteNumberValue(layer);
            }

            w.WriteEndArray();
        };

        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            foreach (var (key, write) in entries)
            {
                writer.WritePropertyName(key);
                write(writer);
            }

            writer.WriteEndObject();
        }

        return LoraAdapterConfig.Utf8(buffer.ToArray());
    }

    private static void WriteNumber(Utf8JsonWriter writer, double value)
    {
        if (value == Math.Floor(value) && Math.Abs(value) < 1e15)
        {
            writer.WriteNumberValue((long)value);
        }
        else
        {
            writer.WriteNumberValue(value);
        }
    }

    private static void WriteNullable(Utf8JsonWriter writer, string? value)
    {
        if (value is null)
        {
            writer.WriteNullValue();
        }
        else
        {
            writer.WriteStringValue(value);
        }
    }

    private static void WriteList(Utf8JsonWriter writer, IReadOnlyList<string>? values)
    {
        if (values is null)
        {
            writer.WriteNullValue();
            return;
        }

        writer.WriteStartArray();
        foreach (var value in values)
        {
            writer.WriteStringValue(value);
        }

        writer.WriteEndArray();
    }

    private static AdapterFormatException Wrong(string source, string key, string expected, JsonElement actual) =>
        new($"Adapter config '{source}': '{key}' must be {expected}, not {LoraAdapterConfig.Describe(actual.ValueKind)} ({actual.GetRawText()}).");

    private static string? String(JsonElement v, string key, string source) => v.ValueKind switch
    {
        JsonValueKind.String => v.GetString(),
        JsonValueKind.Null => null,
        _ => throw Wrong(source, key, "a string", v),
    };

    private static bool Bool(JsonElement v, string key, string source) => v.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => throw Wrong(source, key, "true or false", v),
    };

    private static double Number(JsonElement v, string key, string source) =>
        v.ValueKind == JsonValueKind.Number ? v.GetDouble() : throw Wrong(source, key, "a number", v);

    private static int Int(JsonElement v, string key, string source) =>
        v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var i) ? i : throw Wrong(source, key, "an integer", v);

    private static string InitWeights(JsonElement v, string key, string source) => v.ValueKind switch
    {
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        JsonValueKind.String => v.GetString()!,
        _ => throw Wrong(source, key, "true, false or an init method name", v),
    };

    private static List<string>? StringList(JsonElement v, string key, string source)
    {
        switch (v.ValueKind)
        {
            case JsonValueKind.Null:
                return null;
            case JsonValueKind.String:
                return [v.GetString()!];
            case JsonValueKind.Array:
                var list = new List<string>();
                foreach (var item in v.EnumerateArray())
                {
                    list.Add(item.ValueKind == JsonValueKind.String ? item.GetString()! : throw Wrong(source, key, "a list of strings", v));
                }

                return list;
            default:
                throw Wrong(source, key, "a list of strings or null", v);
        }
    }

    private static List<int>? IntList(JsonElement v, string key, string source)
    {
        switch (v.ValueKind)
        {
            case JsonValueKind.Null:
                return null;
            case JsonValueKind.Number:
                return [Int(v, key, source)];
            case JsonValueKind.Array:
                return v.EnumerateArray().Select(item => Int(item, key, source)).ToList();
            default:
                throw Wrong(source, key, "a list of integers or null", v);
        }
    }
}
