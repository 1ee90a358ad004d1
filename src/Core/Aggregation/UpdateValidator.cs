using System.Numerics.Tensors;
using FedTune.Core.Adapters;
using FedTune.Core.Configuration;
using FedTune.Core.Formats;

namespace FedTune.Core.Aggregation;

/// <summary>
/// Checks each update before it is averaged, against the run's recipe and the current global adapter, never against
/// another upload: readable, hash matches the manifest, rank, alpha and exactly the recipe's target tensors with the
/// shapes the base model gives them (<see cref="Recipe"/>), the global adapter's names, shapes and dtype (F32), finite
/// values, frozen tensors unchanged, positive example count; the delta norm is measured from the global. Only then,
/// when <see cref="UpdateValidationConfig.MaxNormRatio"/> is finite and at least three updates passed, an outlier
/// filter drops a delta norm above k × the round's median (the orchestrator turns it off under DP, where every update
/// is clipped instead and no data-dependent filter may run). Reads each update once; updates are validated in parallel.
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

    /// <summary>The base model's shapes and the recipe's LoRA settings every update must match (null: the global adapter's structure only).</summary>
    public (BaseModelShape BaseModel, LoraAdapterConfig Lora)? Recipe { get; init; }

    /// <summary>Fewest accepted updates for the median norm filter to run (a median of one or two says little).</summary>
    public const int MinimumForNormFilter = 3;

    /// <summary>Validates every update against the global adapter; rejected ones carry their reason.</summary>
    public IReadOnlyList<UpdateValidationResult> ValidateAll(LoraAdapter global, AdapterLayout layout, IReadOnlyList<ClientUpdate> updates)
    {
        ArgumentNullException.ThrowIfNull(global);
        ArgumentNullException.ThrowIfNull(layout);
        ArgumentNullException.ThrowIfNull(updates);
        // Each update is read, hashed and checked on its own thread (the pass is bound by SHA-256, one core per
        // update); results stay in input order.
        var results = new UpdateValidationResult[updates.Count];
        Parallel.For(0, updates.Count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount },
            i => results[i] = ValidateOne(global, layout, updates[i]));
        return ApplyNormBound(results.ToList(), _config.MaxNormRatio);
    }

    /// <summary>The round's outlier filter with this validator's ratio (<see cref="UpdateValidationConfig.MaxNormRatio"/>).</summary>
    internal List<UpdateValidationResult> ApplyNormBound(List<UpdateValidationResult> results) => ApplyNormBound(results, _config.MaxNormRatio);

    internal static List<UpdateValidationResult> ApplyNormBound(List<UpdateValidationResult> results, double maxNormRatio)
    {
        var norms = results.Where(r => r.Accepted).Select(r => r.DeltaNorm).ToArray();
        if (norms.Length < MinimumForNormFilter || double.IsPositiveInfinity(maxNormRatio))
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
            var structure = (Recipe is { } recipe ? InitialAdapter.Mismatch(reader.Config, reader.Tensors.Select(t => (t.Name, t.Shape)), recipe.BaseModel, recipe.Lora) : null)
                            ?? CheckStructure(global, reader);
            if (structure is not null)
            {
                // Still tell a corrupted upload apart from a wrong-shaped one.
                if (!update.HashCheckedOnArrival && update.ManifestSha256 is { } manifest && !AdapterHash.Matches(manifest, reader.ComputeSha256()))
                {
                    return UpdateValidationResult.Reject(id, UpdateVerdict.HashMismatch, $"the bytes do not hash to the manifest's {manifest} (corrupted or tampered upload).", examples);
                }

                return UpdateValidationResult.Reject(id, UpdateVerdict.StructureMismatch, structure, examples);
            }

            // One sequential pass: hash every byte and check every value.
            var values = new ValueCheck(global, layout);
            var actual = reader.Scan(ChunkElements, values.Visit);
            if (!update.HashCheckedOnArrival && update.ManifestSha256 is { } expected && !AdapterHash.Matches(expected, actual))
            {
                return UpdateValidationResult.Reject(id, UpdateVerdict.HashMismatch,
                    $"the bytes hash to {actual} but the manifest says {expected} (corrupted or tampered upload).", examples);
            }

            return values.Failure is { } failure
                ? UpdateValidationResult.Reject(id, failure.Verdict, failure.Reason, examples)
                : new UpdateValidationResult(id, UpdateVerdict.Accepted, null, Math.Sqrt(values.SumOfSquares), examples);
        }
        catch (Exception ex) when (ex is SafetensorsFormatException or AdapterFormatException or IOException or EndOfStreamException)
        {
            return UpdateValidationResult.Reject(id, UpdateVerdict.Unreadable, ex.Message, examples);
        }
    }

    /// <summary>
    /// The same checks as a one-update validation, over an F32 update already read into <paramref name="wire"/>
    /// (the fused round of <see cref="StreamingAggregator"/>): the header and values are read in place, chunks on every
    /// core, the hash
    /// is left to the caller (computed on another thread over the same bytes), and <paramref name="alsoVisit"/> sees
    /// every finite chunk of a non-frozen tensor (concurrently, never the same values twice). Null when the update would not be accepted
    /// or is not an F32 wire update (a compressed upload): the caller then takes the reference path, which names
    /// the problem exactly as <see cref="ValidateAll"/> does.
    /// </summary>
    internal UpdateValidationResult? ValidateInPlace(LoraAdapter global, AdapterLayout layout, ClientUpdate update, ArraySegment<byte> wire,
        Action<LayoutEntry, int, ReadOnlySpan<float>> alsoVisit)
    {
        var id = update.ClientId;
        var examples = update.ExampleCount;
        if (!double.IsFinite(examples) || examples <= 0 || (_config.RequireManifestHash && string.IsNullOrWhiteSpace(update.ManifestSha256)))
        {
            return null;
        }

        try
        {
            using var stream = new MemoryStream(wire.Array!, wire.Offset, wire.Count, writable: false);
            using var reader = SafetensorsReader.Open(stream, leaveOpen: true, $"update from {id}");
            var config = AdapterWireFormat.ReadConfig(reader);
            if (Compression.CompressedAdapterWire.PrecisionOf(reader) != Compression.WirePrecision.Fp32)
            {
                return null;
            }

            var tensors = reader.Tensors.Select(t => (t.Name, t.DType, t.Shape)).ToArray();
            var structure = (Recipe is { } recipe ? InitialAdapter.Mismatch(config, tensors.Select(t => (t.Name, t.Shape)), recipe.BaseModel, recipe.Lora) : null)
                            ?? CheckStructure(global, config, tensors);
            if (structure is not null)
            {
                return null;
            }

            // The chunks a sequential scan would visit (tensors in file order, ChunkElements values at a time), checked
            // and added in on every core: each chunk owns its slice of the accumulator, and the per-chunk squares are
            // summed in scan order afterwards, so the norm and the sum are the sequential scan's to the bit.
            var chunks = new List<(LayoutEntry Entry, string Name, int Offset, int Length, long Position)>();
            var position = 8 + reader.HeaderLength;
            var entries = layout.Entries.ToDictionary(e => e.Name, StringComparer.Ordinal);
            foreach (var tensor in reader.Tensors)
            {
                var elements = (int)tensor.ElementCount;
                if (position + tensor.ByteLength > wire.Count)
                {
                    return null;
                }

                for (var offset = 0; offset < elements; offset += ChunkElements)
                {
                    chunks.Add((entries[tensor.Name], tensor.Name, offset, Math.Min(ChunkElements, elements - offset), position + ((long)offset * sizeof(float))));
                }

                position += tensor.ByteLength;
            }

            var squares = new double[chunks.Count];
            var failed = 0;
            Parallel.For(0, chunks.Count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, () => System.Buffers.ArrayPool<float>.Shared.Rent(ChunkElements), (c, _, scratch) =>
            {
                var (entry, name, offset, length, at) = chunks[c];
                var chunk = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(wire.AsSpan((int)at, length * sizeof(float)));
                var reference = global[name].Data.AsSpan(offset, length);
                if (entry.Frozen)
                {
                    if (!chunk.SequenceEqual(reference))
                    {
                        Volatile.Write(ref failed, 1);
                    }

                    return scratch;
                }

                var d = scratch.AsSpan(0, length);
                TensorPrimitives.Subtract(chunk, reference, d);
                squares[c] = TensorPrimitives.SumOfSquares<float>(d);
                if (!double.IsFinite(squares[c]))
                {
                    Volatile.Write(ref failed, 1);
                    return scratch;
                }

                alsoVisit(entry, offset, chunk);
                return scratch;
            }, scratch => System.Buffers.ArrayPool<float>.Shared.Return(scratch)); // pooled: a fresh 256 KB per worker per update was zeroed every time
            if (failed != 0)
            {
                return null;
            }

            var sumOfSquares = 0.0;
            foreach (var square in squares)
            {
                sumOfSquares += square;
            }

            return position != wire.Count
                ? null
                : new UpdateValidationResult(id, UpdateVerdict.Accepted, null, Math.Sqrt(sumOfSquares), examples);
        }
        catch (Exception ex) when (ex is SafetensorsFormatException or AdapterFormatException or IOException or EndOfStreamException)
        {
            return null;
        }
        catch (Exception ex) when (ex is System.Text.Json.JsonException or InvalidDataException or ArgumentException or OverflowException or InvalidOperationException)
        {
            return null; // the reference path reads it again and names the problem
        }
    }

    private static string? CheckStructure(LoraAdapter global, IUpdateReader reader) => CheckStructure(global, reader.Config, reader.Tensors);

    private static string? CheckStructure(LoraAdapter global, LoraAdapterConfig config, IReadOnlyList<(string Name, SafetensorsDType DType, long[] Shape)> tensors)
    {
        if (config.R != global.Config.R)
        {
            return $"its LoRA rank is {config.R} but the global adapter's is {global.Config.R}.";
        }

        if (Math.Abs(config.Scaling - global.Config.Scaling) > 1e-12)
        {
            return $"its LoRA scaling (lora_alpha {config.LoraAlpha}, r {config.R}) differs from the global adapter's (lora_alpha {global.Config.LoraAlpha}).";
        }

        var byName = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
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

    /// <summary>Accumulates the delta norm and records the first bad value while an update is scanned.</summary>
    private sealed class ValueCheck(LoraAdapter global, AdapterLayout layout)
    {
        private readonly Dictionary<string, LayoutEntry> _entries = layout.Entries.ToDictionary(e => e.Name, StringComparer.Ordinal);
        private readonly float[] _delta = new float[ChunkElements];

        public double SumOfSquares { get; private set; }



        public (UpdateVerdict Verdict, string Reason)? Failure { get; private set; }

        public void Visit(string name, int offset, ReadOnlySpan<float> chunk)
        {
            if (Failure is not null)
            {
                return;
            }

            var entry = _entries[name];
            var reference = global[name].Data.AsSpan(offset, chunk.Length);
            if (entry.Frozen)
            {
                if (!chunk.SequenceEqual(reference))
                {
                    Failure = (UpdateVerdict.FrozenTensorChanged, $"tensor '{name}' is frozen (freeze_a) but differs from the global adapter.");
                }

                return;
            }

            var d = _delta.AsSpan(0, chunk.Length);
            TensorPrimitives.Subtract(chunk, reference, d);
            var squares = (double)TensorPrimitives.SumOfSquares<float>(d);
            if (!double.IsFinite(squares))
            {
                var bad = IndexOfNonFinite(chunk);
                var what = bad >= 0 ? $"element {offset + bad} is {chunk[bad]}" : "its values are so large that their norm overflows";
                Failure = (UpdateVerdict.NonFinite, $"tensor '{name}': {what}.");
                return;
            }

            SumOfSquares += squares;
        }
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
