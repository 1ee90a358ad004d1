using static TorchSharp.torch;

namespace FedTune.Training.Modeling;

/// <summary>
/// Keys (already rotated) and values of every layer for the tokens seen so far, plus their attention mask, so
/// generation feeds only the new tokens. Tensors are owned by the cache and disposed with it.
/// </summary>
public sealed class KeyValueCache : IDisposable
{
    private readonly Tensor?[] _keys;
    private readonly Tensor?[] _values;
    private Tensor? _mask;

    public KeyValueCache(int layers)
    {
        _keys = new Tensor?[layers];
        _values = new Tensor?[layers];
    }

    /// <summary>Tokens already cached per row.</summary>
    public long Length => _keys[0]?.shape[2] ?? 0;

    /// <summary>The [batch, Length] attention mask of the cached tokens (1 real, 0 padding), or null before the first step.</summary>
    public Tensor? Mask => _mask;

    internal (Tensor? Key, Tensor? Value) Get(int layer) => (_keys[layer], _values[layer]);

    internal void Set(int layer, Tensor key, Tensor value)
    {
        _keys[layer]?.Dispose();
        _values[layer]?.Dispose();
        _keys[layer] = key.detach().DetachFromDisposeScope();
        _values[layer] = value.detach().DetachFromDisposeScope();
    }

    internal void SetMask(Tensor mask)
    {
        _mask?.Dispose();
        _mask = mask.DetachFromDisposeScope();
    }

    public void Dispose()
    {
        foreach (var t in _keys) t?.Dispose();
        foreach (var t in _values) t?.Dispose();
        _mask?.Dispose();
    }
}
