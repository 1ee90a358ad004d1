using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using FedTune.Core.Protocol;
using FedTune.Orchestration.Orchestrators;
using FedTune.Orchestration.Plans;
using FedTune.Orchestration.TestHost;
using FedTune.Orchestration.Tests.Support;
using FedTune.TestSupport;
using Microsoft.DurableTask.Client;
using Xunit;
using Xunit.Abstractions;

namespace FedTune.Orchestration.Tests.Integration;

/// <summary>The local host killed with SIGKILL mid-round and started again finishes the run with the same adapter.</summary>
[Collection(AzuriteTestGroup.Name)]
public sealed class HostCrashTests(AzuriteFixture azurite, ITestOutputHelper output)
{
    [Fact]
    public async Task A_host_killed_mid_round_and_restarted_finishes_with_the_same_global_adapter_as_an_uninterrupted_run()
    {
        // Reference: the same federation, uninterrupted, in-process.
        string referenceSha;
        await using (var reference = await LocalHostHarness.StartAsync(azurite.ConnectionString))
        {
            var referenceRun = LocalHostHarness.UniqueRunId("ref");
            await using var agents = new FakeFederation(referenceRun, LocalHostHarness.ThreeAgents(reference.Store));
            await reference.Operator.StartPlanAsync(TestConfigs.Plan(TestConfigs.Yaml(rounds: 3), "t.yaml", referenceRun,
                monitor: LocalHostHarness.SafetyNetPoll));
            var done = await LocalHostHarness.WaitAsync(reference.Client, referenceRun, TimeSpan.FromSeconds(120));
            Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
            referenceSha = done.ReadOutputAs<FederationResult>()!.GlobalAdapter!.Sha256;
        }

        var hub = LocalHostHarness.NewTaskHub();
        var runId = LocalHostHarness.UniqueRunId("crash");
        var store = BlobStore.FromConnectionString(azurite.ConnectionString);
        var hospitals = LocalHostHarness.ThreeAgents(store);
        foreach (var agent in hospitals) agent.HoldRound = 2;
        await using var federation = new FakeFederation(runId, hospitals);

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var first = await ChildHost.StartAsync(azurite.ConnectionString, hub);
        try
        {
            var started = await http.PostAsync(new Uri(first.ApiBaseUrl, $"runs?run_id={runId}"), new StringContent(TestConfigs.Yaml(rounds: 3)));
            Assert.Equal(202, (int)started.StatusCode);
            // Round 2 is in flight: every hospital has its task, none has uploaded.
            await WaitUntilAsync(async () =>
            {
                foreach (var h in new[] { "a", "b", "c" })
                {
                    if (!await store.ExistsAsync(BlobLayout.RoundTask(runId, 2, h))) return false;
                }
                return true;
            }, TimeSpan.FromSeconds(90));
        }
        finally
        {
            first.Kill();
        }
        Assert.False(await store.ExistsAsync(BlobLayout.RoundRecord(runId, 2)));

        foreach (var agent in hospitals) agent.HoldRound = 0;
        var restartClock = Stopwatch.StartNew();
        var second = await ChildHost.StartAsync(azurite.ConnectionString, hub);
        try
        {
            JsonElement view = default;
            await WaitUntilAsync(async () =>
            {
                view = await http.GetFromJsonAsync<JsonElement>(new Uri(second.ApiBaseUrl, $"runs/{runId}"));
                var status = view.GetProperty("runtime_status").GetString();
                Assert.NotEqual("failed", status);
                return status == "completed";
            }, TimeSpan.FromSeconds(300)); // 88 s here at load average 90; the bound only catches a hang
            output.WriteLine($"Restarted host finished the run {restartClock.Elapsed.TotalSeconds:F1} s after it started.");
            var finalSha = view.GetProperty("result").GetProperty("global_adapter").GetProperty("sha256").GetString();
            Assert.Equal(referenceSha, finalSha);
            var download = await http.GetAsync(new Uri(second.ApiBaseUrl, $"runs/{runId}/adapter"));
            Assert.Equal(finalSha, ContentHash.Compute(await download.Content.ReadAsByteArrayAsync()));
            Assert.Equal("3", download.Headers.GetValues("X-FedTune-Round").Single());
        }
        finally
        {
            second.Kill();
        }
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Condition not met within {timeout}.");
            await Task.Delay(250);
        }
    }

    /// <summary>FedTune.Orchestration.TestHost running as a child process (dotnet exec), killable with SIGKILL.</summary>
    private sealed class ChildHost
    {
        private readonly Process _process;

        private ChildHost(Process process, Uri apiBaseUrl)
        {
            _process = process;
            ApiBaseUrl = apiBaseUrl;
        }

        public Uri ApiBaseUrl { get; }

        public static async Task<ChildHost> StartAsync(string connectionString, string taskHub)
        {
            var dll = Path.Combine(AppContext.BaseDirectory, "FedTune.Orchestration.TestHost.dll");
            var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardInput = true, RedirectStandardError = true };
            foreach (var arg in new[] { dll, connectionString, taskHub, "30000", "60000" }) psi.ArgumentList.Add(arg);
            var process = Process.Start(psi)!;
            process.ErrorDataReceived += (_, _) => { };
            process.BeginErrorReadLine();
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            while (true)
            {
                var line = await process.StandardOutput.ReadLineAsync(cts.Token)
                           ?? throw new InvalidOperationException("The test host exited before it was ready.");
                if (line.StartsWith("READY ", StringComparison.Ordinal)) return new ChildHost(process, new Uri(line[6..]));
            }
        }

        /// <summary>SIGKILL: no shutdown code runs, leases and in-flight messages are left as they are.</summary>
        public void Kill()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(10_000);
            }
            _process.Dispose();
        }
    }
}
