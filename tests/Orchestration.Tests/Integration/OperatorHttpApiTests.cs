using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FedTune.Orchestration.Tests.Support;
using FedTune.TestSupport;
using Xunit;

namespace FedTune.Orchestration.Tests.Integration;

/// <summary>The operator API over HTTP on the local host: clear 4xx for mistakes, a run from YAML to its adapter.</summary>
[Collection(AzuriteTestGroup.Name)]
public sealed class OperatorHttpApiTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task Bad_yaml_gets_400_with_the_configuration_error_and_unknown_runs_get_404()
    {
        await using var host = await LocalHostHarness.StartAsync(azurite.ConnectionString, serveApi: true);
        using var http = new HttpClient { BaseAddress = host.ApiBaseUrl };
        Assert.StartsWith("http://127.0.0.1:", host.ApiBaseUrl!.ToString(), StringComparison.Ordinal);

        var bad = await http.PostAsync("runs", new StringContent(TestConfigs.Yaml().Replace("fraction_fit: 1", "fraction_fit: 7", StringComparison.Ordinal)));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var problem = await bad.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("invalid_config", problem.GetProperty("error").GetString());
        Assert.Contains("federation.fraction_fit", problem.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains("request body:", problem.GetProperty("message").GetString(), StringComparison.Ordinal);

        var empty = await http.PostAsync("runs", new StringContent(""));
        Assert.Equal(HttpStatusCode.BadRequest, empty.StatusCode);
        var badId = await http.PostAsync("runs?run_id=no%20spaces", new StringContent(TestConfigs.Yaml()));
        Assert.Equal(HttpStatusCode.BadRequest, badId.StatusCode);
        var noCheckpoint = await http.PostAsync("runs?from_run=never-ran", new StringContent(TestConfigs.Yaml()));
        Assert.Equal("checkpoint_not_found", (await noCheckpoint.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("runs/nope")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("runs/nope/adapter")).StatusCode);
    }

    [Fact]
    public async Task A_run_started_over_http_is_listed_reports_status_and_can_be_terminated()
    {
        await using var host = await LocalHostHarness.StartAsync(azurite.ConnectionString, serveApi: true);
        using var http = new HttpClient { BaseAddress = host.ApiBaseUrl };
        var runId = LocalHostHarness.UniqueRunId("http");

        var started = await http.PostAsync($"runs?run_id={runId}", new StringContent(TestConfigs.Yaml(rounds: 2, deadline: "1h")));
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await http.PostAsync($"runs?run_id={runId}", new StringContent(TestConfigs.Yaml()))).StatusCode);

        JsonElement status = default;
        for (int i = 0; i < 60; i++)
        {
            status = await http.GetFromJsonAsync<JsonElement>($"runs/{runId}");
            if (status.TryGetProperty("status", out var s) && s.GetProperty("phase").GetString() == "training") break;
            await Task.Delay(250);
        }
        var custom = status.GetProperty("status");
        Assert.Equal(1, custom.GetProperty("round").GetInt32());
        Assert.Equal(3, custom.GetProperty("counts").GetProperty("selected").GetInt32());
        Assert.Equal("pending", custom.GetProperty("hospitals").GetProperty("a").GetString());

        var list = await http.GetFromJsonAsync<JsonElement>("runs");
        Assert.Contains(list.GetProperty("runs").EnumerateArray(), r => r.GetProperty("run_id").GetString() == runId);

        Assert.Equal(HttpStatusCode.Accepted, (await http.PostAsync($"runs/{runId}/terminate?reason=test", null)).StatusCode);
        for (int i = 0; i < 60; i++)
        {
            status = await http.GetFromJsonAsync<JsonElement>($"runs/{runId}");
            if (status.GetProperty("runtime_status").GetString() == "terminated") break;
            await Task.Delay(250);
        }
        Assert.Equal("terminated", status.GetProperty("runtime_status").GetString());
    }
}
