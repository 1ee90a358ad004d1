using System.Globalization;
using FedTune.Core.Adapters;

namespace FedTune.Orchestration.Aggregation;

/// <summary>Checks an uploaded adapter before it may join the average; a problem is reported, never thrown.</summary>
public static class UpdateChecks
{
    /// <summary>Null when <paramref name="update"/> can be averaged with <paramref name="reference"/>; else the reason.</summary>
    public static string? Problem(LoraAdapter update, LoraAdapter? reference)
    {
        ArgumentNullException.ThrowIfNull(update);
        foreach (var tensor in update.Tensors)
        {
            var data = tensor.Data;
            for (int i = 0; i < data.Length; i++)
            {
                if (!float.IsFinite(data[i]))
                {
                    return string.Create(CultureInfo.InvariantCulture,
                        $"tensor '{tensor.Name}' holds {(float.IsNaN(data[i]) ? "NaN" : "an infinity")} at element {i}");
                }
            }
        }
        if (reference == null) return null;
        if (update.Config.R != reference.Config.R)
        {
            return string.Create(CultureInfo.InvariantCulture, $"LoRA rank {update.Config.R} differs from the global adapter's {reference.Config.R}");
        }
        if (update.Tensors.Count != reference.Tensors.Count)
        {
            return string.Create(CultureInfo.InvariantCulture, $"it has {update.Tensors.Count} tensors, the global adapter {reference.Tensors.Count}");
        }
        foreach (var expected in reference.Tensors)
        {
            if (!update.TryGet(expected.Name, out var actual)) return $"tensor '{expected.Name}' is missing";
            if (!actual.Shape.SequenceEqual(expected.Shape))
            {
                return $"tensor '{expected.Name}' has shape [{string.Join(", ", actual.Shape)}], expected [{string.Join(", ", expected.Shape)}]";
            }
        }
        return null;
    }

    /// <summary>L2 norm of <c>update - reference</c> over all tensors (the update's own norm without a reference).</summary>
    public static double DeltaNorm(LoraAdapter update, LoraAdapter? reference)
    {
        ArgumentNullException.ThrowIfNull(update);
        double sum = 0;
        foreach (var tensor in update.Tensors)
        {
            var baseline = reference?[tensor.Name].Data;
            for (int i = 0; i < tensor.Data.Length; i++)
            {
                double d = tensor.Data[i] - (baseline?[i] ?? 0f);
                sum += d * d;
            }
        }
        return Math.Sqrt(sum);
    }
}
