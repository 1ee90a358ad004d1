using System.Text.Json;
using FedTune.Core.Formats;
using FedTune.Training.Quantization;
using TorchSharp;
using static TorchSharp.torch;

namespace FedTune.Training.Modeling;

/// <summary>
/// Loads a GPT-NeoX model from a local Hugging Face folder: <c>config.json</c> plus <c>model.safetensors</c> or a sharded
/// <c>model.safetensors.index.json</c> (F32, F16 or BF16 weights). Every parameter is checked: a missing, mis-shaped or
/// unexpected tensor is an error naming it and the file. Buffers (attention.bias, attention.masked_bias,
/// rotary_emb.inv_freq) are ignored.
/// </summary>
public static class HuggingFaceModelLoader
{
    public const string SafetensorsFile = "model.safetensors";
    public const string SafetensorsIndexFile = "model.safetensors.index.json";
    public const string PickleFile = "pytorch_model.bin";

    /// <summary>Loads the model onto <paramref name="device"/> (CPU when null) in <paramref name="dtype"/>.</summary>
    public static GptNeoXForCausalLM Load(string folder, Device? device = null, ScalarType dtype = ScalarType.Float32, BaseQuantization quantization = BaseQuantization.None)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        if (!Directory.Exists(folder))
            throw new DirectoryNotFoundException($"Model folder '{folder}' does not exist.");
        var config = GptNeoXConfig.Load(folder);
        var files = WeightFiles(folder);
        var model = new GptNeoXForCausalLM(config, device, dtype, quantization);
        try
        {
            LoadWeights(model, files);
        }
        catch
        {
            model.Dispose();
            throw;
        }

        return model;
    }

    /// <summary>The safetensors files holding the weights, in the order to search them.</summary>
    public static IReadOnlyList<string> WeightFiles(string folder)
    {
        var single = Path.Combine(folder, SafetensorsFile);
        if (File.Exists(single)) return [single];
        var index = Path.Combine(folder, SafetensorsIndexFile);
        if (File.Exists(index)) return ShardsFromIndex(folder, index);
        if (File.Exists(Path.Combine(folder, PickleFile)))
            throw new InvalidDataException(
                $"'{folder}' holds only {PickleFile} (a pickled PyTorch checkpoint), which FedTune does not unpickle. Convert it once with: " +
                $"python -c \"import torch; from safetensors.torch import save_file; sd=torch.load('{PickleFile}', map_location='cpu'); " +
                "save_file({k: v.contiguous() for k, v in sd.items()}, 'model.safetensors', metadata={'format': 'pt'})\" " +
                "(or load it with transformers and call save_pretrained(dir, safe_serialization=True)).");
        throw new FileNotFoundException(
            $"'{folder}' has no weights: expected {SafetensorsFile} or {SafetensorsIndexFile} (with its shards) next to config.json.");
    }

    private static List<string> ShardsFromIndex(string folder, string index)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(index));
        if (!doc.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"{index} has no \"weight_map\" object.");
        var shards = new List<string>();
        foreach (var entry in map.EnumerateObject())
        {
            var shard = entry.Value.GetString() ?? throw new InvalidDataException($"{index}: weight_map[{entry.Name}] is not a file name.");
            var path = Path.GetFullPath(Path.Combine(folder, shard));
            if (!path.StartsWith(Path.GetFullPath(folder), StringComparison.Ordinal))
                throw new InvalidDataException($"{index}: shard '{shard}' lies outside the model folder.");
            if (!shards.Contains(path)) shards.Add(path);
        }

        foreach (var shard in shards.Where(s => !File.Exists(s)))
            throw new FileNotFoundException($"{index} names shard '{Path.GetFileName(shard)}', which is missing from '{folder}'.", shard);
        return shards;
    }

    /// <summary>Copies every weight of <paramref name="model"/> from the safetensors <paramref name="files"/>, checking names and shapes.</summary>
    public static void LoadWeights(GptNeoXForCausalLM model, IReadOnlyList<string> files)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(files);
        var readers = files.Select(SafetensorsReader.Open).ToList();
        try
        {
            var location = new Dictionary<string, SafetensorsReader>(StringComparer.Ordinal);
            foreach (var reader in readers)
                foreach (var info in reader.Tensors)
                    location.TryAdd(info.Name, reader);

            var slots = model.WeightSlots();
            var expected = slots.Select(s => s.Name).ToHashSet(StringComparer.Ordinal);
            var unexpected = location.Keys
                .Where(name => !expected.Contains(name) && !GptNeoXStateDictLayout.IsIgnoredBuffer(name)
                               && !(model.Config.TieWordEmbeddings && name == "embed_out.weight"))
                .OrderBy(n => n, StringComparer.Ordinal).ToList();
            if (unexpected.Count > 0)
                throw new InvalidDataException(
                    $"{string.Join(", ", files.Select(Path.GetFileName).Distinct())} hold{(files.Count == 1 ? "s" : "")} {unexpected.Count} tensor(s) that GPT-NeoX with this config.json has no place for, e.g. " +
                    $"{string.Join(", ", unexpected.Take(5))}. Is config.json from the same checkpoint?");

            foreach (var slot in slots)
            {
                if (!location.TryGetValue(slot.Name, out var reader))
                    throw new InvalidDataException(
                        $"Weight '{slot.Name}' (shape [{string.Join(", ", slot.Shape)}]) is missing from {string.Join(", ", files.Select(Path.GetFileName))}.");
                var info = reader[slot.Name];
                if (!info.Shape.SequenceEqual(slot.Shape))
                    throw new InvalidDataException(
                        $"Weight '{slot.Name}' in {Path.GetFileName(reader.Source)} has shape [{string.Join(", ", info.Shape)}] but config.json implies [{string.Join(", ", slot.Shape)}].");
                if (!SafetensorsDTypes.IsFloat(info.DType))
                    throw new InvalidDataException(
                        $"Weight '{slot.Name}' in {Path.GetFileName(reader.Source)} has dtype {info.DType}; only F32, F16 and BF16 weights are supported.");
                using var scope = torch.NewDisposeScope();
                var values = reader.ReadFloat32(slot.Name);
                slot.Load(torch.tensor(values, info.Shape));
            }
        }
        finally
        {
            foreach (var reader in readers) reader.Dispose();
        }
    }
}
