using FedTune.Core.Configuration;
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
    public const string PickleIndexFile = "pytorch_model.bin.index.json";

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
        // Fallback: torch.save state dicts (zip format), read by a restricted unpickler.
        var pickle = Path.Combine(folder, PickleFile);
        if (File.Exists(pickle)) return [pickle];
        var pickleIndex = Path.Combine(folder, PickleIndexFile);
        if (File.Exists(pickleIndex)) return ShardsFromIndex(folder, pickleIndex);
        throw new FileNotFoundException(
            $"'{folder}' has no weights: expected {SafetensorsFile}, {SafetensorsIndexFile} (with its shards) or {PickleFile} next to config.json.");
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

    /// <summary>
    /// Copies every weight of <paramref name="model"/> from the checkpoint <paramref name="files"/> (safetensors, or
    /// pytorch_model*.bin), checking names and shapes.
    /// </summary>
    public static void LoadWeights(GptNeoXForCausalLM model, IReadOnlyList<string> files)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(files);
        var readers = new List<CheckpointFile>();
        try
        {
            foreach (var file in files) readers.Add(CheckpointFile.Open(file));
            var location = new Dictionary<string, CheckpointFile>(StringComparer.Ordinal);
            foreach (var reader in readers)
                foreach (var name in reader.Names)
                    location.TryAdd(name, reader);

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
                var (shape, isFloat, dtype) = reader.Describe(slot.Name);
                if (!shape.SequenceEqual(slot.Shape))
                    throw new InvalidDataException(
                        $"Weight '{slot.Name}' in {Path.GetFileName(reader.Source)} has shape [{string.Join(", ", shape)}] but config.json implies [{string.Join(", ", slot.Shape)}].");
                if (!isFloat)
                    throw new InvalidDataException(
                        $"Weight '{slot.Name}' in {Path.GetFileName(reader.Source)} has dtype {dtype}; only F32, F16 and BF16 weights are supported.");
                using var scope = torch.NewDisposeScope();
                slot.Load(torch.tensor(reader.ReadFloat32(slot.Name), shape));
            }
        }
        finally
        {
            foreach (var reader in readers) reader.Dispose();
        }
    }

    /// <summary>One checkpoint file, safetensors or a torch.save zip, behind the same three questions.</summary>
    private sealed class CheckpointFile : IDisposable
    {
        private readonly SafetensorsReader? _safetensors;
        private readonly PyTorchCheckpointReader? _pickle;

        private CheckpointFile(SafetensorsReader? safetensors, PyTorchCheckpointReader? pickle, string source)
        {
            _safetensors = safetensors;
            _pickle = pickle;
            Source = source;
        }

        public string Source { get; }

        public IEnumerable<string> Names => _safetensors?.Tensors.Select(t => t.Name) ?? _pickle!.Shapes.Keys;

        public static CheckpointFile Open(string path) =>
            path.EndsWith(".bin", StringComparison.OrdinalIgnoreCase)
                ? new CheckpointFile(null, PyTorchCheckpointReader.Open(path), path)
                : new CheckpointFile(SafetensorsReader.Open(path), null, path);

        public (long[] Shape, bool IsFloat, string DType) Describe(string name)
        {
            if (_safetensors is not null)
            {
                var info = _safetensors[name];
                return (info.Shape, SafetensorsDTypes.IsFloat(info.DType), info.DType.ToString());
            }

            return (_pickle!.Shapes[name], true, "float");
        }

        public float[] ReadFloat32(string name) => _safetensors?.ReadFloat32(name) ?? _pickle!.ReadFloat32(name);

        public void Dispose()
        {
            _safetensors?.Dispose();
            _pickle?.Dispose();
        }
    }
}
