using System.Net;
using Azure.Storage.Blobs.Specialized;
using FedTune.Core.Protocol;
using FedTune.Orchestration.Api;
using FedTune.Orchestration.TestHost;
using FedTune.Orchestration.Tests.Support;
using FedTune.TestSupport;
using Xunit;

namespace FedTune.Orchestration.Tests.Integration;

/// <summary>
/// The dashboard in a real headless Chromium against the local host's operator API: a run started over HTTP is
/// listed, its page shows each hospital's state (waiting, training while an agent holds the task's lease, rejected with
/// the agent's reason) and the recipe, updates by itself as rounds complete, and logs nothing to the console.
/// </summary>
[Collection(AzuriteTestGroup.Name)]
public sealed class DashboardBrowserTests(AzuriteFixture azurite)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task The_dashboard_shows_a_run_started_through_the_api_and_follows_it_round_by_round_without_console_errors()
    {
        await using var host = await LocalHostHarness.StartAsync(azurite.ConnectionString, serveApi: true);
        var store = BlobStore.FromConnectionString(azurite.ConnectionString);
        var runId = LocalHostHarness.UniqueRunId("dash");
        var agents = LocalHostHarness.ThreeAgents(store, id => id == "c" ? task => task.Round == 2 ? AgentBehaviour.Fail : AgentBehaviour.Train : null);
        foreach (var agent in agents) agent.HoldRound = 1;
        await using var federation = new FakeFederation(runId, agents);

        using var http = new HttpClient { BaseAddress = host.ApiBaseUrl };
        var started = await http.PostAsync($"runs?run_id={runId}", new StringContent(TestConfigs.Yaml(rounds: 2, minFit: 2, deadline: "1h")));
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);

        await using var browser = await HeadlessChromium.StartAsync();
        await browser.NavigateAsync(new Uri(host.ApiBaseUrl!, OperatorRoutes.Dashboard));
        await browser.WaitUntilAsync($"return !!document.querySelector('#runs tr[data-run=\"{runId}\"] a')", "the run in the list of runs", Wait);

        await browser.EvaluateAsync($"document.querySelector('#runs tr[data-run=\"{runId}\"] a').click()");
        await browser.WaitUntilAsync(HospitalsAre(("a", "waiting"), ("b", "waiting"), ("c", "waiting")), "round 1 with hospitals a, b, c waiting", Wait);
        Assert.Equal(runId, (await browser.EvaluateAsync("return document.getElementById('run-id').textContent"))!.GetValue<string>());
        Assert.Equal("1 of 2", (await browser.EvaluateAsync("return document.getElementById('round').textContent"))!.GetValue<string>());
        await browser.WaitUntilAsync(RecipeHas("max_steps", "5"), "the recipe (max_steps 5)", Wait);

        // An agent that takes the task holds a lease on its lock blob: the page says the hospital is training.
        var lockBlob = store.Blob(BlobLayout.TaskLock(runId, 1, "a"));
        await lockBlob.UploadAsync(BinaryData.FromBytes([]), overwrite: true);
        var lease = lockBlob.GetBlobLeaseClient();
        await lease.AcquireAsync(TimeSpan.FromSeconds(60));
        await browser.WaitUntilAsync(HospitalsAre(("a", "training"), ("b", "waiting"), ("c", "waiting")), "hospital a training", Wait);
        await lease.ReleaseAsync();

        // Round 1 completes: the page adds it to the table and the curves without being reloaded.
        // a and b then hold round 2; c takes it at once (and refuses it).
        agents[0].HoldRound = agents[1].HoldRound = 2;
        agents[2].HoldRound = 99;
        await browser.WaitUntilAsync("return !!document.querySelector('#rounds tr[data-round=\"1\"]')", "round 1 among the finished rounds", Wait);
        await browser.WaitUntilAsync("return document.getElementById('chart-loss').dataset.points === '3' && document.getElementById('chart-bytes').dataset.points === '2'",
            "round 1's training losses (3 hospitals) and bytes on the charts", Wait);
        // Round 2: c's agent refuses the task; the page shows it rejected with the agent's reason while a and b still wait.
        await browser.WaitUntilAsync(
            "const c = document.querySelector('#hospitals tr[data-hospital=\"c\"]');" +
            "return document.getElementById('round').textContent === '2 of 2' && !!c && c.dataset.state === 'rejected' && c.textContent.includes('data_missing')",
            "hospital c rejected with its reason in round 2", Wait);

        foreach (var agent in agents) agent.HoldRound = 99;
        await browser.WaitUntilAsync("return !!document.querySelector('#rounds tr[data-round=\"2\"]') && document.getElementById('runtime-status').textContent === 'completed'",
            "round 2 finished and the run completed", Wait);
        // Five training losses: three in round 1, a and b in round 2 (c was rejected).
        Assert.Equal("5", (await browser.EvaluateAsync("return document.getElementById('chart-loss').dataset.points"))!.GetValue<string>());
        Assert.Equal("1", (await browser.EvaluateAsync("return document.querySelector('#rounds tr[data-round=\"2\"]').cells[5].textContent"))!.GetValue<string>());
        var console = await browser.ReadConsoleAsync();
        Assert.True(console.All(e => e.Level != "SEVERE"), "console errors: " + string.Join(" | ", console.Select(e => e.Level + " " + e.Message)));
    }

    private static string HospitalsAre(params (string Id, string State)[] expected) =>
        "const rows = [...document.querySelectorAll('#hospitals tbody tr')].map(r => r.dataset.hospital + '=' + r.dataset.state).join(',');" +
        $"return rows === '{string.Join(",", expected.Select(e => e.Id + "=" + e.State))}'";

    private static string RecipeHas(string key, string value) =>
        $"return [...document.querySelectorAll('#recipe tr')].some(r => r.cells[0].textContent.endsWith('{key}') && r.cells[1].textContent === '{value}')";
}
