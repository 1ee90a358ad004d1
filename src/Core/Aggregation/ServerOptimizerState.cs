using FedTune.Core.Formats;

namespace FedTune.Core.Aggregation;

/// <summary>
/// Server optimizer state kept between rounds (first and second moments over the flat layout, round count).
/// Persist it with <see cref="ToBytes"/> (a small safetensors blob) and restore it with <see cref="FromBytes"/>.
/// </summary>
public sealed class ServerOptimizerState
{
    /// <summary>Rounds applied so far.</summary>
    public int Round { get; set; }

    /// <summary>First moment / momentum buffer (null until a strategy needs it).</summary>
    public float[]? M { get; private set; }

    /// <summary>Second moment (null until an adaptive strategy needs it).</summary>
    public float[]? V { get; private set; }

    /// <summary>Strategy name the state belongs to (checked on restore).</summary>
    public string Strategy { get; set; } = string.Empty;

    public ServerOptimizerState Clone() => new()
    {
        Round = Round,
        M = (float[]?)M?.Clone(),
        V = (float[]?)V?.Clone(),
        Strategy = Strategy,
    };

    public byte[] ToBytes()
    {
        var tensors = new List<SafetensorsTensor>();
        if (M is not null)
        {
            tensors.Add(SafetensorsTensor.FromFloat32("m", [M.Length], M));
        }

        if (V is not null)
        {
            tensors.Add(SafetensorsTensor.FromFloat32("v", [V.Length], V));
        }

        return SafetensorsWriter.ToBytes(tensors, new Dictionary<string, string>
        {
            ["round"] = Round.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["strategy"] = Strategy,
        });
    }

    public static ServerOptimizerState FromBytes(byte[] bytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        using var reader = SafetensorsReader.Open(new MemoryStream(bytes), false, "server optimizer state");
        if (!reader.Metadata.TryGetValue("round", out var round) || !int.TryParse(round, System.Globalization.CultureInfo.InvariantCulture, out var parsed))
        {
            throw new SafetensorsFormatException("Server optimizer state has no 'round' in its metadata.");
        }

        return new ServerOptimizerState
        {
            Round = parsed,
            Strategy = reader.Metadata.GetValueOrDefault("strategy", string.Empty),
            M = reader.TryGet("m", out _) ? reader.ReadFloat32("m") : null,
            V = reader.TryGet("v", out _) ? reader.ReadFloat32("v") : null,
        };
    }

    internal float[] EnsureM(long length, float initial) => M = Ensure(M, length, initial, "m");

    internal float[] EnsureV(long length, float initial) => V = Ensure(V, length, initial, "v");

    private static float[] Ensure(float[]? buffer, long length, float initial, string name)
    {
        if (buffer is null)
        {
            var created = new float[length];
            Array.Fill(created, initial);
            return created;
        }

        return buffer.Length == length
            ? buffer
            : throw new InvalidOperationException($"Server optimizer state '{name}' has {buffer.Length} values but the adapter has {length} parameters; was the adapter shape changed mid-run?");
    }
}
