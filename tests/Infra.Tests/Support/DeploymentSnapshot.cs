using System.Text.Json.Nodes;

namespace FedTune.Infra.Tests.Support;

/// <summary>One resource the deployment would create, with names and ids fully evaluated by Bicep.</summary>
public sealed record PredictedResource(string Id, string Type, string Name, JsonObject Body)
{
    public JsonNode? Properties => Body["properties"];

    /// <summary>For an extension resource such as a role assignment: the id of the resource it is attached to.</summary>
    public string Scope
    {
        get
        {
            var marker = "/providers/" + Type + "/";
            var index = Id.LastIndexOf(marker, StringComparison.OrdinalIgnoreCase);
            return index < 0 ? Id : Id[..index];
        }
    }

    public string? StringProperty(string name) => Properties?[name]?.GetValue<string>();
}

/// <summary>A role assignment as predicted: where it applies, which role, to whom.</summary>
public sealed record PredictedRoleAssignment(string Scope, string RoleDefinitionGuid, string PrincipalId, string? PrincipalType);

/// <summary>
/// The output of 'bicep snapshot': every resource the template would deploy for one parameters file,
/// including resources from modules, with names, scopes and ids evaluated (runtime values such as an
/// identity's principal id stay as reference() expressions).
/// </summary>
public sealed class DeploymentSnapshot
{
    private DeploymentSnapshot(IReadOnlyList<PredictedResource> resources, JsonObject outputs, IReadOnlyList<string> diagnostics)
    {
        Resources = resources;
        Outputs = outputs;
        Diagnostics = diagnostics;
    }

    public IReadOnlyList<PredictedResource> Resources { get; }

    public JsonObject Outputs { get; }

    public IReadOnlyList<string> Diagnostics { get; }

    public static DeploymentSnapshot Parse(string json)
    {
        var root = JsonNode.Parse(json)?.AsObject() ?? throw new FormatException("The snapshot is not a JSON object.");
        var resources = root["predictedResources"]!.AsArray()
            .Select(node => node!.AsObject())
            .Select(body => new PredictedResource(
                body["id"]!.GetValue<string>(), body["type"]!.GetValue<string>(), body["name"]!.GetValue<string>(), body))
            .ToList();
        var diagnostics = root["diagnostics"]?.AsArray().Select(d => d!.ToJsonString()).ToList() ?? [];
        return new DeploymentSnapshot(resources, root["outputs"]?.AsObject() ?? [], diagnostics);
    }

    public IEnumerable<PredictedResource> OfType(string type) =>
        Resources.Where(resource => string.Equals(resource.Type, type, StringComparison.OrdinalIgnoreCase));

    public PredictedResource Single(string type)
    {
        var matches = OfType(type).ToList();
        return matches.Count == 1
            ? matches[0]
            : throw new InvalidOperationException($"Expected exactly one {type}, found {matches.Count}.");
    }

    public IReadOnlyList<PredictedRoleAssignment> RoleAssignments =>
        OfType("Microsoft.Authorization/roleAssignments")
            .Select(assignment => new PredictedRoleAssignment(
                assignment.Scope,
                assignment.StringProperty("roleDefinitionId")!.Split('/')[^1],
                assignment.StringProperty("principalId")!,
                assignment.StringProperty("principalType")))
            .ToList();

    /// <summary>The app settings of the one Function App, by name.</summary>
    public IReadOnlyDictionary<string, string> FunctionAppSettings =>
        Single("Microsoft.Web/sites").Properties!["siteConfig"]!["appSettings"]!.AsArray()
            .ToDictionary(setting => setting!["name"]!.GetValue<string>(), setting => setting!["value"]!.GetValue<string>());
}
