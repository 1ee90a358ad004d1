using System.Text.Json;
using System.Text.Json.Serialization;

namespace FedTune.Core.Protocol;

/// <summary>JSON for every protocol record: snake_case, source-generated, the same bytes on every writer.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    WriteIndented = true,
    NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    AllowTrailingCommas = false,
    ReadCommentHandling = JsonCommentHandling.Disallow)]
[JsonSerializable(typeof(RoundTask))]
[JsonSerializable(typeof(UpdateManifest))]
[JsonSerializable(typeof(FailedTaskMarker))]
[JsonSerializable(typeof(RoundRecord))]
[JsonSerializable(typeof(CheckpointRecord))]
[JsonSerializable(typeof(GlobalEvaluationRecord))]
[JsonSerializable(typeof(ContentRef))]
[JsonSerializable(typeof(SecureAggregation.SecAggPublicKeys))]
[JsonSerializable(typeof(SecAggRoster))]
[JsonSerializable(typeof(SecAggShareBundle))]
[JsonSerializable(typeof(SecAggInbox))]
[JsonSerializable(typeof(SecAggRevealRequest))]
[JsonSerializable(typeof(SecureAggregation.SecAggReveal))]
[JsonSerializable(typeof(SecureAggregation.SecAggClientState))]
public sealed partial class ProtocolJsonContext : JsonSerializerContext;

/// <summary>Serialize/parse protocol records; parse errors name the blob and the problem.</summary>
public static class ProtocolJson
{
    public static byte[] Serialize<T>(T value) => JsonSerializer.SerializeToUtf8Bytes(value, TypeInfo<T>());

    /// <summary>Parses a record; a <see cref="ProtocolFormatException"/> names <paramref name="source"/> when it is not valid.</summary>
    public static T Deserialize<T>(ReadOnlySpan<byte> utf8, string source)
    {
        try
        {
            return JsonSerializer.Deserialize(utf8, TypeInfo<T>())
                   ?? throw new ProtocolFormatException($"{source}: the JSON is null, expected a {typeof(T).Name}.");
        }
        catch (JsonException e)
        {
            throw new ProtocolFormatException($"{source}: not a valid {typeof(T).Name} ({e.Message}).", e);
        }
    }

    public static System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> TypeInfo<T>() =>
        ProtocolJsonContext.Default.GetTypeInfo(typeof(T)) as System.Text.Json.Serialization.Metadata.JsonTypeInfo<T>
        ?? throw new ArgumentException($"{typeof(T).Name} is not a protocol record.");
}

/// <summary>A protocol blob that does not parse as the record it should hold.</summary>
public sealed class ProtocolFormatException : Exception
{
    public ProtocolFormatException() { }
    public ProtocolFormatException(string message) : base(message) { }
    public ProtocolFormatException(string message, Exception inner) : base(message, inner) { }
}
