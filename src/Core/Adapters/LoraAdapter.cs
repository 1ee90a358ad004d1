namespace FedTune.Core.Adapters;

/// <summary>
/// A LoRA adapter in memory: its PEFT config and its F32 tensors in a fixed order, keyed by PEFT's names.
/// Construction checks that every lora_A has its lora_B, that A is [r, in] and B is [out, r] with r from the
/// config, and that each tensor's data matches its shape. Values (NaN, infinities) are not checked here:
/// that is update validation's job, which reports rather than throws.
/// </summary>
public sealed class LoraAdapter
{
    private readonly Dictionary<string, LoraTensor> _byName;

    public LoraAdapter(LoraAdapterConfig config, IEnumerable<LoraTensor> tensors, string source = "adapter")
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(tensors);
        Config = config;
        Tensors = tensors.ToArray();
        _byName = new Dictionary<string, LoraTensor>(StringComparer.Ordinal);
        foreach (var tensor in Tensors)
        {
            if (!_byName.TryAdd(tensor.Name, tensor))
            {
                throw new AdapterFormatException($"{source}: tensor '{tensor.Name}' appears twice.");
            }

            if (tensor.Shape.Any(d => d < 0) || tensor.ElementCount != tensor.Data.Length)
            {
                throw new AdapterFormatException(
                    $"{source}: tensor '{tensor.Name}' has shape [{string.Join(", ", tensor.Shape)}] but {tensor.Data.Length} values.");
            }
        }

        CheckLoraPairs(source);
    }

    /// <summary>The PEFT adapter config.</summary>
    public LoraAdapterConfig Config { get; }

    /// <summary>Tensors in their fixed order.</summary>
    public IReadOnlyList<LoraTensor> Tensors { get; }

    /// <summary>Tensor names in order.</summary>
    public IEnumerable<string> Names => Tensors.Select(t => t.Name);

    /// <summary>Total number of parameters (elements).</summary>
    public long ParameterCount => Tensors.Sum(t => (long)t.Data.Length);

    /// <summary>Bytes of the parameters as F32.</summary>
    public long ByteSize => ParameterCount * sizeof(float);

    /// <summary>Module prefixes that carry a LoRA pair (e.g. <c>base_model.model.gpt_neox.layers.0.attention.query_key_value</c>).</summary>
    public IEnumerable<string> LoraModules =>
        Tensors.Select(t => PeftKeys.IsLoraA(t.Name, out var module) ? module : null).OfType<string>();

    /// <summary>The tensor called <paramref name="name"/>.</summary>
    public LoraTensor this[string name] =>
        _byName.TryGetValue(name, out var tensor) ? tensor : throw new KeyNotFoundException($"The adapter has no tensor '{name}'.");

    public bool TryGet(string name, out LoraTensor tensor) => _byName.TryGetValue(name, out tensor!);

    /// <summary>A copy with the same config and names whose data is produced by <paramref name="map"/>.</summary>
    public LoraAdapter With(Func<LoraTensor, float[]> map)
    {
        ArgumentNullException.ThrowIfNull(map);
        return new LoraAdapter(Config, Tensors.Select(t => t with { Data = map(t) }));
    }

    /// <summary>A deep copy.</summary>
    public LoraAdapter Clone() => With(t => (float[])t.Data.Clone());

    private void CheckLoraPairs(string source)
    {
        foreach (var tensor in Tensors)
        {
            if (PeftKeys.IsLoraA(tensor.Name, out var module))
            {
                var bName = module + PeftKeys.LoraBSuffix;
                if (!_byName.TryGetValue(bName, out var b))
                {
                    throw new AdapterFormatException($"{source}: '{tensor.Name}' has no matching '{bName}'.");
                }

                var a = tensor;
                if (a.Shape.Length != 2 || b.Shape.Length != 2)
                {
                    throw new AdapterFormatException($"{source}: LoRA weights of '{module}' must be matrices (A [r, in], B [out, r]).");
                }

                if (a.Shape[0] != Config.R || b.Shape[1] != Config.R)
                {
                    throw new AdapterFormatException(
                        $"{source}: '{module}' has A [{a.Shape[0]}, {a.Shape[1]}] and B [{b.Shape[0]}, {b.Shape[1]}] but the config says r = {Config.R} (A must be [r, in], B [out, r]).");
                }
            }
            else if (PeftKeys.IsLoraB(tensor.Name, out var bModule) && !_byName.ContainsKey(bModule + PeftKeys.LoraASuffix))
            {
                throw new AdapterFormatException($"{source}: '{tensor.Name}' has no matching '{bModule}{PeftKeys.LoraASuffix}'.");
            }
        }
    }
}
