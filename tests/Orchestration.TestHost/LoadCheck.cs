using System.Diagnostics;
using System.Globalization;
using FedTune.Core.Protocol;
using FedTune.Core.Storage;
using FedTune.Orchestration.Local;
using FedTune.Orchestration.Orchestrators;
using FedTune.Orchestration.Plans;
using Microsoft.DurableTask.Client;

namespace FedTune.Orchestration.TestHost;

/// <summary>
/// The orchestration load check: one federation round with N simulated hospitals on a private Azurite and the
/// local host. The fake agents answer as soon as they see their task, so the round's wall time is the orchestration's
/// own overhead (task writes, monitors, fan-in, aggregation, checkpoint) plus the agents' polling delay.
/// </summary>
public static class LoadCheck
{
    public static async Task<int> RunAsync(int hospitals, int rounds)
    {
        using var azurite = await AzuriteProcess.StartAsync();
        var options = new LocalOrchestratorOptions
        {
            TaskHubName = "load" + hospitals.ToString(CultureInfo.InvariantCulture),
            ServeApi = false,
            PartitionCount = 4,
            MaxConcurrentActivities = 32,
            MaxConcurrentOrchestrations = 128,
            MaxQueuePollingInterval = TimeSpan.FromMilliseconds(500),
            WorkItemVisibilityTimeout = TimeSpan.FromMinutes(2),
            ControlQueueVisibilityTimeout = TimeSpan.FromMinutes(2),
        };
        var setupClock = Stopwatch.StartNew();
        await using var host = await LocalOrchestratorHost.StartAsync(azurite.ConnectionString, options);
        var ids = Enumerable.Range(0, hospitals).Select(i => "h" + i.ToString("D4", CultureInfo.InvariantCulture)).ToArray();
        var agents = ids.Select((id, i) => new FakeHospitalAgent(host.Store, id, 0.001f * (i % 7 + 1), 10 + i % 5)).ToArray();
        foreach (var id in ids) await host.Store.EnsureContainerAsync(BlobLayout.HospitalContainer(id));
        Console.WriteLine($"setup (Azurite, host, {hospitals} containers): {setupClock.Elapsed.TotalSeconds:F1} s");

        var runId = "load-" + hospitals.ToString(CultureInfo.InvariantCulture);
        var plan = new FederationPlan
        {
            RunId = runId,
            BaseModelShape = TestAdapters.BaseModel,
            Rounds = rounds,
            Hospitals = ids,
            FractionFit = 1,
            MinFitClients = hospitals,
            MinAvailableClients = hospitals,
            RoundDeadline = TimeSpan.FromMinutes(30),
            Recipe = new FedTune.Core.Configuration.TrainingRecipe
            {
                BaseModel = "EleutherAI/pythia-70m", LearningRate = 5e-4, MaxSteps = 5, Lora = new FedTune.Core.Configuration.LoraConfig { R = 2, Alpha = 4 },
            },
            Aggregation = new AggregationSettings(),
            SaveEveryRound = 1,
            SaveTotalLimit = 2,
            Monitor = new MonitorSettings { FirstPoll = TimeSpan.FromSeconds(1), MaxPoll = TimeSpan.FromSeconds(4), BackoffFactor = 2 },
        };
        var clock = Stopwatch.StartNew();
        await using (new FakeFederation(runId, agents, TimeSpan.FromMilliseconds(500)))
        {
            await host.Operator.StartPlanAsync(plan);
            using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(25));
            var done = await host.Client.WaitForInstanceCompletionAsync(runId, getInputsAndOutputs: true, cts.Token);
            clock.Stop();
            if (done.RuntimeStatus != OrchestrationRuntimeStatus.Completed)
            {
                Console.WriteLine($"run ended {done.RuntimeStatus}: {done.SerializedOutput}");
                return 1;
            }
        }
        double aggregation = 0;
        long bytes = 0;
        for (int round = 1; round <= rounds; round++)
        {
            var record = await host.Store.TryReadJsonAsync<RoundRecord>(BlobLayout.RoundRecord(runId, round));
            aggregation += record!.AggregationSeconds;
            bytes += record.BytesRead;
            if (record.Participants.Count != hospitals) throw new InvalidOperationException($"round {round} had {record.Participants.Count} participants");
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"hospitals={hospitals} rounds={rounds} wall={clock.Elapsed.TotalSeconds:F1}s per_round={clock.Elapsed.TotalSeconds / rounds:F1}s " +
            $"aggregation={aggregation:F2}s bytes_read={bytes} per_hospital_round_ms={clock.Elapsed.TotalMilliseconds / rounds / hospitals:F0}"));
        return 0;
    }
}
