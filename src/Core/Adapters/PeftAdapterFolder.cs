using FedTune.Core.Formats;

namespace FedTune.Core.Adapters;

/// <summary>
/// A PEFT adapter folder: <c>adapter_config.json</c> + <c>adapter_model.safetensors</c>, loadable with
/// <c>PeftModel.from_pretrained(base, dir)</c>. We write F32 and read F32/F16/BF16/F64.
/// </summary>
public static class PeftAdapterFolder
{
    public const string ConfigFileName = "adapter_config.json";
    public const string WeightsFileName = "adapter_model.safetensors";

    /// <summary>Writes both files (each atomically: temporary file then rename).</summary>
    public static void Save(string directory, LoraAdapter adapter)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(adapter);
        Directory.CreateDirectory(directory);
        SafetensorsWriter.Write(Path.Combine(directory, WeightsFileName), ToSafetensors(adapter), new Dictionary<string, string> { ["format"] = "pt" });
        var configPath = Path.Combine(directory, ConfigFileName);
        var temporary = Path.Combine(directory, $".{ConfigFileName}.{Guid.NewGuid():N}.tmp");
        File.WriteAllText(temporary, adapter.Config.ToJson() + "\n");
        File.Move(temporary, configPath, overwrite: true);
    }

    /// <summary>Reads a folder PEFT (or we) saved.</summary>
    public static LoraAdapter Load(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        var configPath = Path.Combine(directory, ConfigFileName);
        var weightsPath = Path.Combine(directory, WeightsFileName);
        if (!File.Exists(configPath))
        {
            throw new AdapterFormatException($"'{directory}' is not a PEFT adapter folder: '{ConfigFileName}' is missing.");
        }

        if (!File.Exists(weightsPath))
        {
            var hint = File.Exists(Path.Combine(directory, "adapter_model.bin"))
                ? " It has adapter_model.bin (pickle), which is not read for safety; re-save with save_pretrained(safe_serialization=True)."
                : string.Empty;
            throw new AdapterFormatException($"'{directory}' is not a PEFT adapter folder: '{WeightsFileName}' is missing.{hint}");
        }

        var config = LoraAdapterConfig.FromJson(File.ReadAllText(configPath), configPath);
        using var reader = SafetensorsReader.Open(weightsPath);
        return FromSafetensors(config, reader);
    }

    /// <summary>The adapter's tensors as F32 safetensors entries.</summary>
    public static IEnumerable<SafetensorsTensor> ToSafetensors(LoraAdapter adapter)
    {
        ArgumentNullException.ThrowIfNull(adapter);
        return adapter.Tensors.Select(t => SafetensorsTensor.FromFloat32(t.Name, t.Shape, t.Data));
    }

    /// <summary>Builds an adapter from a safetensors reader, converting float dtypes to F32 and PEFT's in-memory names to saved ones.</summary>
    public static LoraAdapter FromSafetensors(LoraAdapterConfig config, SafetensorsReader reader)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(reader);
        var tensors = new List<LoraTensor>(reader.Tensors.Count);
        foreach (var info in reader.Tensors.OrderBy(t => t.Name, StringComparer.Ordinal))
        {
            if (!SafetensorsDTypes.IsFloat(info.DType))
            {
                throw new AdapterFormatException($"'{reader.Source}': tensor '{info.Name}' has dtype {info.DType}; adapter weights must be floating point.");
            }

            tensors.Add(new LoraTensor(PeftKeys.Normalize(info.Name), (long[])info.Shape.Clone(), reader.ReadFloat32(info.Name)));
        }

        return new LoraAdapter(config, tensors, reader.Source);
    }
}
