using System.Text.Json;

namespace FedTune.Orchestration.Events;

/// <summary>
/// Reads one Event Grid event as the storage-queue destination delivers it (a JSON object in the Event Grid schema, or
/// a CloudEvent): a <c>Microsoft.Storage.BlobCreated</c> event whose subject is a hospital's manifest or failed-task
/// marker gives that upload's <see cref="UploadLocation"/>; anything else gives null.
/// </summary>
public static class BlobCreatedEvent
{
    public const string EventType = "Microsoft.Storage.BlobCreated";

    public static UploadLocation? Locate(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return null;
            string? type = Text(root, "eventType") ?? Text(root, "type");
            string? subject = Text(root, "subject");
            return type == EventType && subject != null ? UploadLocation.FromEventGridSubject(subject) : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string? Text(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
