using System.Text.Json.Nodes;
using FedTune.Infra.Tests.Support;

namespace FedTune.Infra.Tests;

public sealed class BicepToolchainTests
{
    private static readonly Lazy<BicepResult> MainBuild =
        new(() => BicepCli.Run("build", Path.Combine(InfraWorkspace.RepositoryInfraDirectory, "main.bicep"), "--stdout"));

    [Fact]
    public void Bicep_cli_restored_from_nuget_runs_and_reports_its_version()
    {
        var result = BicepCli.Run("--version");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("Bicep CLI version 0.49.2", result.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public void Main_template_builds_with_zero_diagnostics()
    {
        var result = MainBuild.Value;

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Empty(result.Diagnostics);
        Assert.Equal(string.Empty, result.StandardError.Trim());
        Assert.NotNull(JsonNode.Parse(result.StandardOutput)?["resources"]);
    }

    [Fact]
    public void Every_template_lints_with_zero_diagnostics()
    {
        var templates = Directory.GetFiles(InfraWorkspace.RepositoryInfraDirectory, "*.bicep", SearchOption.AllDirectories);
        Assert.True(templates.Length >= 7, $"expected main.bicep and its modules, found {templates.Length} templates");

        var result = BicepCli.Run("lint", "--pattern", Path.Combine(InfraWorkspace.RepositoryInfraDirectory, "**", "*.bicep"));

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Empty(result.Diagnostics);
    }

    [Fact]
    public void Lint_reports_a_template_that_breaks_a_linter_rule()
    {
        using var workspace = InfraWorkspace.CopyOfRepositoryInfra();
        workspace.Replace("modules/identity.bicep", "param tags object", "param tags object\n\nparam neverUsed string = ''");

        var result = BicepCli.Run("lint", "--pattern", Path.Combine(workspace.Directory, "**", "*.bicep"));

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains(result.Diagnostics, line => line.Contains("identity.bicep", StringComparison.Ordinal)
                                                    && line.Contains("no-unused-params", StringComparison.Ordinal));
    }

    [Fact]
    public void Linter_configuration_raises_core_rules_to_error_level()
    {
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(InfraWorkspace.RepositoryInfraDirectory, "bicepconfig.json")))!;
        var rules = config["analyzers"]!["core"]!["rules"]!.AsObject();

        foreach (var rule in new[] { "no-unused-params", "no-hardcoded-env-urls", "outputs-should-not-contain-secrets", "secure-secrets-in-params", "use-resource-symbol-reference" })
        {
            Assert.Equal("error", rules[rule]?["level"]?.GetValue<string>());
        }
    }

    [Fact]
    public void Example_bicepparam_evaluates_without_diagnostics()
    {
        using var workspace = InfraWorkspace.CopyOfRepositoryInfra();

        var snapshot = workspace.Snapshot("main.example.bicepparam");

        Assert.Empty(snapshot.Diagnostics);
        Assert.Contains(snapshot.OfType("Microsoft.Web/sites"), site => site.Name.StartsWith("func-fedtune-", StringComparison.Ordinal));
    }

    [Fact]
    public void Example_json_parameters_name_only_parameters_the_template_declares()
    {
        var declared = JsonNode.Parse(MainBuild.Value.StandardOutput)!["parameters"]!.AsObject().Select(p => p.Key).ToHashSet();
        var example = JsonNode.Parse(File.ReadAllText(Path.Combine(InfraWorkspace.RepositoryInfraDirectory, "main.parameters.example.json")))!;

        var unknown = example["parameters"]!.AsObject().Select(p => p.Key).Where(name => !declared.Contains(name)).ToList();

        Assert.Empty(unknown);
    }
}
