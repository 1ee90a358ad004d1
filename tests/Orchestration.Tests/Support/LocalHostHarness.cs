using FedTune.Orchestration.TestHost;
using FedTune.Core.Adapters;
using FedTune.Core.Protocol;
using FedTune.Orchestration.Local;
using FedTune.Orchestration.Plans;
using Microsoft.DurableTask.Client;

namespace FedTune.Orchestration.Tests.Support;

/// <summary>Starting local hosts with test timings (fast polls, short leases) and waiting for runs.</summary>
internal static class LocalHostHarness
{
    /// <summary>A slow safety-net poll (30 s, then 60 s): rounds in tests end on upload events, as in production.</summary>
    public static readonly MonitorSettings SafetyNetPoll = new()
    {
        FirstPoll = TimeSpan.FromSeconds(30), MaxPoll = TimeSpan.FromSeconds(60), BackoffFactor = 2,
    };

    public static string NewTaskHub() => "t" + Guid.NewGuid().ToString("N")[..12];

    public static LocalOrchestratorOptions Options(string? taskHub = null) => new()
    {
        TaskHubName = taskHub ?? NewTaskHub(),
        WorkItemVisibilityTimeout = TimeSpan.FromSeconds(10),
        ControlQueueVisibilityTimeout = TimeSpan.FromSeconds(8),
        LeaseInterval = TimeSpan.FromSeconds(6),
        LeaseRenewInterval = TimeSpan.FromSeconds(2),
        LeaseAcquireInterval = TimeSpan.FromSeconds(1),
        MaxQueuePollingInterval = TimeSpan.FromMilliseconds(500),
        MonitorFor = _ => SafetyNetPoll,
        // FEDTUNE_TEST_LOG=path writes the hosts' logs there (for diagnosing a failing integration test).
        LoggerFactory = Environment.GetEnvironmentVariable("FEDTUNE_TEST_LOG") is { Length: > 0 } log
            ? Local.FileLoggerProvider.CreateFactory(log, Microsoft.Extensions.Logging.LogLevel.Information) : null,
    };

    public static Task<LocalOrchestratorHost> StartAsync(string connectionString, string? taskHub = null, bool serveApi = false) =>
        LocalOrchestratorHost.StartAsync(connectionString, Options(taskHub) with { ServeApi = serveApi });

    public static async Task<OrchestrationMetadata> WaitAsync(DurableTaskClient client, string runId, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            return await client.WaitForInstanceCompletionAsync(runId, getInputsAndOutputs: true, cts.Token);
        }
        catch (OperationCanceledException)
        {
            var now = await client.GetInstanceAsync(runId, getInputsAndOutputs: true);
            throw new TimeoutException($"Run {runId} did not finish in {timeout}: {now?.RuntimeStatus} {now?.SerializedCustomStatus}");
        }
    }

    public static async Task<LoraAdapter> ReadAdapterAsync(BlobStore store, ContentRef content)
    {
        using var buffer = new MemoryStream();
        await store.DownloadVerifiedAsync(content, buffer);
        buffer.Position = 0;
        return AdapterWireFormat.Read(buffer);
    }

    /// <summary>The run's round-0 adapter, as the orchestrator creates it (recipe + base model shapes + run seed).</summary>
    public static LoraAdapter Round0(FederationPlan plan) =>
        InitialAdapter.Create(plan.BaseModelShape, plan.LoraConfig(), Orchestrators.RoundTaskFactory.LoraInitSeed(plan.Seed));

    /// <summary>Asserts every element of <paramref name="actual"/> is the round-0 value plus <paramref name="shift"/>.</summary>
    public static void AssertShifted(LoraAdapter round0, LoraAdapter actual, float shift, int precision)
    {
        foreach (var tensor in round0.Tensors)
        {
            var values = actual[tensor.Name].Data;
            for (int i = 0; i < values.Length; i++) Xunit.Assert.Equal(tensor.Data[i] + shift, values[i], precision);
        }
    }

    public static string UniqueRunId(string prefix) => $"{prefix}-{Guid.NewGuid().ToString("N")[..8]}";

    /// <summary>Fake agents a, b, c with offsets 0.1, 0.2, 0.3 and 10, 20, 30 examples.</summary>
    public static FakeHospitalAgent[] ThreeAgents(BlobStore store, Func<string, Func<RoundTask, AgentBehaviour>?>? behaviour = null) =>
    [
        new(store, "a", 0.1f, 10, behaviour?.Invoke("a")),
        new(store, "b", 0.2f, 20, behaviour?.Invoke("b")),
        new(store, "c", 0.3f, 30, behaviour?.Invoke("c")),
    ];
}
