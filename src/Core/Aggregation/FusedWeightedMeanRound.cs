using System.Buffers;
using System.Collections.Concurrent;
using System.Numerics.Tensors;
using System.Security.Cryptography;
using FedTune.Core.Adapters;

namespace FedTune.Core.Aggregation;

/// <summary>
/// A weighted-mean (FedAvg-family) round in one read of each update: every update's wire bytes are read once into a
/// buffer; while hasher threads compute the buffer's SHA-256 (unless it was checked as the bytes arrived,
/// <see cref="ClientUpdate.HashCheckedOnArrival"/>), the calling thread validates the values in place
/// (structure, finite, frozen, delta norm) and adds weight × update into the accumulator in update order, so every
/// coordinate sees the same additions in the same order as <see cref="WeightedMeanCombiner"/> (the result is
/// bit-identical). The weights assume every update is accepted, as they almost always are; when one is not (or is
/// not an F32 wire update), the round returns null and the caller runs the reference path (validate, then combine),
/// which names each rejection. Memory: the accumulator plus one buffer per hasher thread and one for the kernel.
/// </summary>
internal static class FusedWeightedMeanRound
{
    /// <summary>The validations (all accepted) and FedAvg's delta (Σ wᵢ·uᵢ − global over non-frozen tensors), or null.</summary>
    public static (List<UpdateValidationResult> Validations, float[] Delta)? TryRun(
        UpdateValidator validator, LoraAdapter global, AdapterLayout layout, float[] globalFlat,
        IReadOnlyList<ClientUpdate> updates, IReadOnlyList<double> normalizedWeights)
    {
        if (updates.Count == 0 || updates.Any(u => !u.IsWire || u.ManifestSha256 is null))
        {
            return null;
        }

        var hashers = Math.Max(1, Environment.ProcessorCount);
        using var slots = new SemaphoreSlim(hashers + 2); // buffers in flight: one per hasher, the kernel's and the next read
        using var queue = new BlockingCollection<(int Index, byte[] Buffer, int Length)>();
        var hashes = new string?[updates.Count];
        var workers = Enumerable.Range(0, hashers).Select(_ => Task.Factory.StartNew(() =>
        {
            foreach (var (index, buffer, length) in queue.GetConsumingEnumerable())
            {
                try
                {
                    hashes[index] = Convert.ToHexStringLower(SHA256.HashData(buffer.AsSpan(0, length)));
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    slots.Release();
                }
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)).ToArray();

        var accumulator = new float[layout.Length];
        var results = new List<UpdateValidationResult>(updates.Count);
        var complete = true;
        // The next update is read (a kernel copy from the page cache) while this one is validated and added in.
        Task<(byte[]? Buffer, int Length)> StartRead(int index)
        {
            slots.Wait();
            return Task.Run(() => ReadAll(updates[index]));
        }

        Task<(byte[]? Buffer, int Length)>? next = StartRead(0);
        try
        {
            for (var i = 0; i < updates.Count && complete; i++)
            {
                var (buffer, length) = next!.GetAwaiter().GetResult();
                next = i + 1 < updates.Count ? StartRead(i + 1) : null;
                if (buffer is null)
                {
                    slots.Release();
                    complete = false;
                    break;
                }

                var weight = (float)normalizedWeights[i];
                UpdateValidationResult? result;
                try
                {
                    result = validator.ValidateInPlace(global, layout, updates[i], new ArraySegment<byte>(buffer, 0, length), (entry, offset, chunk) =>
                    {
                        var target = accumulator.AsSpan((int)entry.Offset + offset, chunk.Length);
                        TensorPrimitives.MultiplyAdd(chunk, weight, target, target);
                    });
                }
                finally
                {
                    if (updates[i].HashCheckedOnArrival)
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                        slots.Release();
                    }
                    else
                    {
                        queue.Add((i, buffer, length)); // the hasher returns the buffer and the slot
                    }
                }

                if (result is null)
                {
                    complete = false;
                }
                else
                {
                    results.Add(result);
                }
            }
        }
        finally
        {
            if (next is not null)
            {
                // A read started for an update the round no longer needs (it stopped early): give its buffer back.
                next.ContinueWith(read =>
                {
                    if (read.IsCompletedSuccessfully && read.Result.Buffer is { } unused)
                    {
                        ArrayPool<byte>.Shared.Return(unused);
                    }
                }, TaskScheduler.Default).Wait();
                slots.Release();
            }

            queue.CompleteAdding();
            Task.WaitAll(workers);
        }

        if (!complete || updates.Where((u, i) => !u.HashCheckedOnArrival && !AdapterHash.Matches(u.ManifestSha256!, hashes[i]!)).Any())
        {
            return null;
        }

        var bounded = validator.ApplyNormBound(results);
        if (bounded.Any(r => !r.Accepted))
        {
            return null;
        }

        foreach (var entry in layout.Entries.Where(e => !e.Frozen))
        {
            var target = accumulator.AsSpan((int)entry.Offset, entry.Length);
            TensorPrimitives.Subtract(target, globalFlat.AsSpan((int)entry.Offset, entry.Length), target);
        }

        return (bounded, accumulator);
    }

    /// <summary>The update's whole wire bytes in a pooled buffer (one read), or null when they cannot be read that way.</summary>
    private static (byte[]? Buffer, int Length) ReadAll(ClientUpdate update)
    {
        try
        {
            using var stream = update.OpenWire();
            if (!stream.CanSeek || stream.Length > Array.MaxLength)
            {
                return (null, 0);
            }

            var length = (int)stream.Length;
            var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
            try
            {
                stream.ReadExactly(buffer, 0, length);
                return (buffer, length);
            }
            catch
            {
                ArrayPool<byte>.Shared.Return(buffer);
                throw;
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or EndOfStreamException)
        {
            return (null, 0);
        }
    }
}
