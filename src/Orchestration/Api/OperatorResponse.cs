using System.Text.Json;
using System.Text.Json.Serialization;

namespace FedTune.Orchestration.Api;

/// <summary>An HTTP answer both hosts write out as is: status, content type, headers, and bytes or a stream.</summary>
public sealed class OperatorResponse
{
    private OperatorResponse(int statusCode, string contentType, byte[]? body, Stream? stream)
    {
        StatusCode = statusCode;
        ContentType = contentType;
        Body = body;
        Stream = stream;
    }

    public int StatusCode { get; }
    public string ContentType { get; }
    public byte[]? Body { get; }
    /// <summary>A body to stream (adapter downloads); the host disposes it.</summary>
    public Stream? Stream { get; }
    public Dictionary<string, string> Headers { get; } = new(StringComparer.OrdinalIgnoreCase);

    public static OperatorResponse Json<T>(int statusCode, T value) =>
        new(statusCode, "application/json; charset=utf-8", JsonSerializer.SerializeToUtf8Bytes(value, ApiJson.Options), null);

    /// <summary>A problem the caller can fix (4xx) or one on our side (5xx), as <c>{"error": ..., "message": ...}</c>.</summary>
    public static OperatorResponse Problem(int statusCode, string error, string message) =>
        Json(statusCode, new ApiProblem(error, message));

    /// <summary>A page or other fixed content (the dashboard).</summary>
    public static OperatorResponse Content(int statusCode, string contentType, byte[] body) => new(statusCode, contentType, body, null);

    public static OperatorResponse Download(Stream stream, string contentType = "application/octet-stream") => new(200, contentType, null, stream);
}

public sealed record ApiProblem(string Error, string Message);

/// <summary>JSON of the operator API: snake_case, enums as strings, indented.</summary>
public static class ApiJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };
}
