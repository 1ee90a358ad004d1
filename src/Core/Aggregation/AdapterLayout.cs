using FedTune.Core.Adapters;

namespace FedTune.Core.Aggregation;

/// <summary>
/// The global adapter's tensors laid end to end as one flat parameter vector, in the global adapter's order.
/// Strategies work on chunks of this vector; <see cref="Segments"/> maps a flat range back to tensors.
/// </summary>
public sealed class AdapterLayout
{
    public AdapterLayout(LoraAdapter global, Func<string, bool>? isFrozen = null)
    {
        ArgumentNullException.ThrowIfNull(global);
        var entries = new List<LayoutEntry>();
        long offset = 0;
        foreach (var tensor in global.Tensors)
        {
            entries.Add(new LayoutEntry(tensor.Name, tensor.Shape, offset, tensor.Data.Length, isFrozen?.Invoke(tensor.Name) ?? false));
            offset += tensor.Data.Length;
        }

        Entries = entries;
        Length = offset;
        if (Length > Array.MaxLength)
        {
            throw new ArgumentException($"The adapter has {Length} parameters; at most {Array.MaxLength} fit one aggregation buffer.", nameof(global));
        }
    }

    public IReadOnlyList<LayoutEntry> Entries { get; }

    /// <summary>Total parameters.</summary>
    public long Length { get; }

    /// <summary>Concatenates the adapter's tensors in layout order.</summary>
    public float[] Flatten(LoraAdapter adapter)
    {
        ArgumentNullException.ThrowIfNull(adapter);
        var flat = new float[Length];
        foreach (var entry in Entries)
        {
            adapter[entry.Name].Data.CopyTo(flat.AsSpan((int)entry.Offset, entry.Length));
        }

        return flat;
    }

    /// <summary>An adapter with <paramref name="template"/>'s config and names and the values of <paramref name="flat"/>.</summary>
    public LoraAdapter Unflatten(LoraAdapter template, ReadOnlySpan<float> flat)
    {
        ArgumentNullException.ThrowIfNull(template);
        var tensors = new List<LoraTensor>(Entries.Count);
        foreach (var entry in Entries)
        {
            tensors.Add(new LoraTensor(entry.Name, (long[])entry.Shape.Clone(), flat.Slice((int)entry.Offset, entry.Length).ToArray()));
        }

        return new LoraAdapter(template.Config, tensors);
    }

    /// <summary>Splits the non-frozen parameters into (entry, element offset, length) chunks of at most <paramref name="chunk"/> elements.</summary>
    public IEnumerable<(LayoutEntry Entry, int Offset, int Length)> Chunks(int chunk)
    {
        foreach (var entry in Entries)
        {
            if (entry.Frozen)
            {
                continue;
            }

            for (var start = 0; start < entry.Length; start += chunk)
            {
                yield return (entry, start, Math.Min(chunk, entry.Length - start));
            }
        }
    }
}

/// <summary>One tensor's place in the flat vector.</summary>
public sealed record LayoutEntry(string Name, long[] Shape, long Offset, int Length, bool Frozen);
