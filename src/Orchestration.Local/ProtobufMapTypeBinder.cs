using DurableTask.AzureStorage;

namespace FedTune.Orchestration.Local;

/// <summary>
/// Lets the Azure Storage provider carry sub-orchestration starts made through the gRPC sidecar. The sidecar puts
/// the request's tags (a protobuf <c>MapField&lt;string, string&gt;</c>) straight into the ExecutionStartedEvent;
/// the provider's Newtonsoft serializer writes that type's name without an assembly and cannot resolve it when
/// reading the message back, so every sub-orchestration would be stuck. This binder writes such maps as a plain
/// <c>Dictionary&lt;string, string&gt;</c> (which the event's <c>IDictionary</c> property accepts) and reads old names
/// the same way; every other type keeps the provider's default naming.
/// </summary>
internal sealed class ProtobufMapTypeBinder : ICustomTypeBinder
{
    private const string MapFieldPrefix = "Google.Protobuf.Collections.MapField`2";
    private static readonly Type Replacement = typeof(Dictionary<string, string>);

    public void BindToName(Type serializedType, out string assemblyName, out string typeName)
    {
        ArgumentNullException.ThrowIfNull(serializedType);
        assemblyName = null!;
        typeName = IsStringMap(serializedType) ? Replacement.FullName! : serializedType.FullName!;
    }

    public Type BindToType(string assemblyName, string typeName) =>
        typeName != null && typeName.StartsWith(MapFieldPrefix, StringComparison.Ordinal) ? Replacement : null!;

    private static bool IsStringMap(Type type) =>
        type.IsGenericType && type.FullName != null && type.FullName.StartsWith(MapFieldPrefix, StringComparison.Ordinal);
}
