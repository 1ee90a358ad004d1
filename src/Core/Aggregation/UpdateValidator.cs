using System.Numerics.Tensors;
using FedTune.Core.Adapters;
using FedTune.Core.Configuration;
using FedTune.Core.Formats;

namespace FedTune.Core.Aggregation;

/// <summary>
/// Checks each update before it is averaged: readable, hash matches the manifest, same tensor names, shapes,
/// dtype (F32) and rank as the global adapter, finite values, frozen tensors unchanged, positive weight, and
/// finally delta norm within k × the round's median delta norm. Reads each update once, one at a time.
/// </summary>
public sealed class UpdateValidator
{
    internal const int ChunkElements = 1 << 16;

    private readonly UpdateValidationConfig _config;

    public UpdateValidator(UpdateValidationConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        _config = config;
    }

    /// <summary>Validates every update against the global adapter; rejected ones carry their reason.</summary>
    public IReadOnlyList<UpdateValidationResult> ValidateAll(LoraAdapter global, AdapterLayout layout, IReadOnlyList<ClientUpdate> updates)
    {
        ArgumentNullException.ThrowIfNull(global);
        ArgumentNullException.ThrowIfNull(layout);
        ArgumentNullException.ThrowIfNull(updates);
        var results = updates.Select(update => ValidateOne(global, layout, update)).ToList();
        return ApplyNormBound(results, _config.MaxNormRatio);
    }

    internal static List<UpdateValidationResult> ApplyNormBound(List<UpdateValidationResult> results, double maxNormRatio)
    {
        var norms = results.Where(r => r.Accepted).Select(r => r.DeltaNorm).ToArray();
        if (norms.Length == 0)
        {
            return results;
        }

        var median = Median(norms);
        if (median <= 0)
        {
            return results; // no scale to compare against: most clients did not move
        }

        var bound = maxNormRatio * median;
        return results.Select(r => r.Accepted && r.DeltaNorm > bound
            ? UpdateValidationResult.Reject(r.ClientId, UpdateVerdict.NormTooLarge,
                $"update norm {r.DeltaNorm:G4} is more than {maxNormRatio:G4} × the round's median norm {median:G4} (bound {bound:G4}).",
                r.ExampleCount, r.DeltaNorm)
            : r).ToList();
    }

    internal static double Median(double[] values)
    {
        var sorted = values.Order().ToArray();
        var mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    private UpdateValidationResult ValidateOne(LoraAdapter global, AdapterLayout layout, ClientUpdate update)
    {
        var id = update.ClientId;
        var examples = update.ExampleCount;
        if (!double.IsFinite(examples) || examples <= 0)
        {
            return UpdateValidationResult.Reject(id, UpdateVerdict.InvalidWeight, $"example count {examples} must be a positive number.", examples);
        }

        if (_config.RequireManifestHash && string.IsNullOrWhiteSpace(update.ManifestSha256))
        {
            return UpdateValidationResult.Reject(id, UpdateVerdict.HashMismatch, "the manifest has no SHA-256 and one is required (validation.require_manifest_hash).", examples);
        }

        try
        {
            using var reader = update.Open();
            if (update.ManifestSha256 is { } expected)
            {
                var actual = reader.ComputeSha256();
                if (!AdapterHash.Matches(expected, actual))
                {
                    return UpdateValidationResult.Reject(id, UpdateVerdict.HashMismatch,
                        $"the bytes hash to {actual} but the manifest says {expected} (corrupted or tampered upload).", examples);
                }
            }

            var structure = CheckStructure(global, reader);
            if (structure is not null)
            {
                return UpdateValidationResult.Reject(id, UpdateVerdict.StructureMismatch, structure, examples);
            }

            return CheckValues(global, layout, reader, id, examples);
        }
        catch (Exception ex) when (ex is SafetensorsFormatException or AdapterFormatException or IOException or EndOfStreamException)
        {
            return UpdateValidationResult.Reject(id, UpdateVerdict.Unreadable, ex.Message, examples);
        }
    }

    private static string? CheckStructure(LoraAdapter global, IUpdateReader reader)
    {
        if (reader.Config.R != global.Config.R)
        {
            return $"its LoRA rank is {reader.Config.R} but the global adapter's is {global.Config.R}.";
        }

        var byName = reader.Tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
        foreach (var tensor in global.Tensors)
        {
            if (!byName.TryGetValue(tensor.Name, out var other))
            {
                return $"tensor '{tensor.Name}' is missing.";
            }

            if (other.DType != SafetensorsDType.F32)
            {
                return $"tensor '{tensor.Name}' is {other.DType}; updates must be F32 like the global adapter.";
            }

            if (!other.Shape.AsSpan().SequenceEqual(tensor.Shape))
            {
                return $"tensor '{tensor.Name}' has shape [{string.Join(", ", other.Shape)}] but the global adapter's is [{string.Join(", ", tensor.Shape)}].";
            }
        }

        var extra = byName.Keys.FirstOrDefault(name => !global.TryGet(name, out _));
        return extra is null ? null : $"tensor '{extra}' is not in the global adapter.";
    }

    private static UpdateValidationResult CheckValues(LoraAdapter global, AdapterLayout layout, IUpdateReader reader, string id, double examples)
    {
        var values = new float[ChunkElements];
        var delta = new float[ChunkElements];
        double sumOfSquares = 0;
        foreach (var entry in layout.Entries)
        {
            var reference = global[entry.Name].Data;
            for (var start = 0; start < entry.Length; start += ChunkElements)
            {
                var length = Math.Min(ChunkElements, entry.Length - start);
                var chunk = values.AsSpan(0, length);
                reader.Read(entry.Name, start, chunk);
                var referenceChunk = reference.AsSpan(start, length);
                if (entry.Frozen)
                {
                    if (!chunk.SequenceEqual(referenceChunk))
                    {
                        return UpdateValidationResult.Reject(id, UpdateVerdict.FrozenTensorChanged,
                            $"tensor '{entry.Name}' is frozen (freeze_a) but differs from the global adapter.", examples);
                    }

                    continue;
                }

                var d = delta.AsSpan(0, length);
                TensorPrimitives.Subtract(chunk, referenceChunk, d);
                var chunkSquares = (double)TensorPrimitives.SumOfSquares(d);
                if (!double.IsFinite(chunkSquares))
                {
                    var bad = IndexOfNonFinite(chunk);
                    var what = bad >= 0 ? $"element {start + bad} is {chunk[bad]}" : "its values are so large that their norm overflows";
                    return UpdateValidationResult.Reject(id, UpdateVerdict.NonFinite, $"tensor '{entry.Name}': {what}.", examples);
                }

                sumOfSquares += chunkSquares;
            }
        }

        return new UpdateValidationResult(id, UpdateVerdict.Accepted, null, Math.Sqrt(sumOfSquares), examples);
    }

    private static int IndexOfNonFinite(ReadOnlySpan<float> values)
    {
        for (var i = 0; i < values.Length; i++)
        {
            if (!float.IsFinite(values[i]))
            {
                return i;
            }
        }

        return -1;
    }
}
