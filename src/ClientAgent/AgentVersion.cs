using System.Reflection;

namespace FedTune.ClientAgent;

/// <summary>The agent's version as written into update manifests and failed-task markers.</summary>
public static class AgentVersion
{
    public static string Current { get; } =
        typeof(AgentVersion).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion?.Split('+')[0]
        ?? typeof(AgentVersion).Assembly.GetName().Version?.ToString() ?? "0.0.0";
}
