using System.Globalization;
using FedTune.ClientAgent.Configuration;
using FedTune.ClientAgent.Hosting;
using FedTune.ClientAgent.Status;
using FedTune.ClientAgent.Tests.Support;
using FedTune.Core.Adapters;
using FedTune.Core.Data;
using FedTune.Core.Protocol;
using FedTune.Orchestration.Local;
using FedTune.Orchestration.Orchestrators;
using FedTune.Orchestration.Plans;
using FedTune.TestSupport;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace FedTune.ClientAgent.Tests.Integration;

/// <summary>
/// The whole system on Azurite: the local orchestrator host runs a 2-hospital, 2-round federation and two real
/// agents (the tiny GPT-NeoX, shards of the real medical data) train every round and the run completes.
/// </summary>
[Collection(AzuriteTestGroup.Name)]
public sealed class FederationWithRealAgentsTests(AzuriteFixture azurite)
{
    /// <param name="freezeA">FFA-LoRA; that case also trains with record-level DP (train.differential_privacy), so the round
    /// records carry the hospitals' ε (the plain case checks they carry none).</param>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Two_hospitals_with_real_agents_complete_a_two_round_federation(bool freezeA)
    {
        var recordPrivacy = freezeA;
        using var dir = new TempDirectory("federation");
        string suffix = Guid.NewGuid().ToString("N")[..8];
        string[] hospitals = [$"fa-{suffix}", $"fb-{suffix}"];
        var split = MedicalDataSplitter.Split(new AlpacaDatasetReader().ReadAll(TestPaths.RequireMedicalMeadowFile()), new MedicalSplitOptions { HospitalCount = 2, Seed = 5 });
        var dataFiles = new List<string>();
        for (int i = 0; i < 2; i++)
        {
            var file = dir.File($"{hospitals[i]}.jsonl");
            AlpacaJsonlWriter.Write(file, split.Hospitals[i].All.Take(24));
            dataFiles.Add(file);
        }

        await using var orchestrator = await LocalOrchestratorHost.StartAsync(azurite.ConnectionString, new LocalOrchestratorOptions
        {
            TaskHubName = "t" + suffix,
            ServeApi = false,
            WorkItemVisibilityTimeout = TimeSpan.FromSeconds(20),
            ControlQueueVisibilityTimeout = TimeSpan.FromSeconds(10),
            LeaseInterval = TimeSpan.FromSeconds(6),
            LeaseRenewInterval = TimeSpan.FromSeconds(2),
            LeaseAcquireInterval = TimeSpan.FromSeconds(1),
            MaxQueuePollingInterval = TimeSpan.FromMilliseconds(500),
            MonitorFor = _ => new MonitorSettings { FirstPoll = TimeSpan.FromMilliseconds(500), MaxPoll = TimeSpan.FromSeconds(1) },
        });

        var agents = new List<IHost>();
        for (int i = 0; i < 2; i++)
        {
            var options = new AgentOptions
            {
                HospitalId = hospitals[i],
                Storage = new StorageOptions { Mode = CredentialMode.ConnectionString, ConnectionString = azurite.ConnectionString },
                Data = new DataOptions { Paths = [dataFiles[i]], HeldOutFraction = 0.25 },
                ModelPath = TinyModel.Folder,
                Device = DeviceChoice.Cpu,
                WorkPath = dir.File($"work-{i}"),
                Polling = new PollingOptions { MinInterval = TimeSpan.FromMilliseconds(300), MaxInterval = TimeSpan.FromSeconds(1) },
                Lease = new LeaseOptions { Duration = TimeSpan.FromSeconds(15), RenewInterval = TimeSpan.FromSeconds(3) },
                Upload = new RetryOptions { MaxAttempts = 3, FirstDelay = TimeSpan.FromMilliseconds(100), MaxDelay = TimeSpan.FromSeconds(1) },
            };
            var host = AgentHost.CreateBuilder(AgentTestBed.CommandLine(options).ToArray()).Build();
            await host.StartAsync();
            agents.Add(host);
        }

        try
        {
            var runId = "fed-" + suffix;
            var plan = FederationPlanBuilder.FromYaml(Yaml(hospitals, freezeA, recordPrivacy), "federation-test.yaml", runId, baseModel: BaseModelShape.FromFolder(TinyModel.Folder),
                monitor: new MonitorSettings { FirstPoll = TimeSpan.FromMilliseconds(500), MaxPoll = TimeSpan.FromSeconds(1) });
            var started = await orchestrator.Operator.StartPlanAsync(plan);
            Assert.Equal(202, started.StatusCode);

            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(4));
            var done = await orchestrator.Client.WaitForInstanceCompletionAsync(runId, getInputsAndOutputs: true, timeout.Token);

            Assert.True(done.RuntimeStatus == OrchestrationRuntimeStatus.Completed,
                $"{done.RuntimeStatus}: {done.FailureDetails?.ErrorType} {done.FailureDetails?.ErrorMessage} {done.SerializedOutput} {done.SerializedCustomStatus} " +
                string.Join(" | ", agents.Select(a => a.Services.GetRequiredService<AgentStatusBoard>().Current.LastError)));
            var result = done.ReadOutputAs<FederationResult>()!;
            Assert.Equal(2, result.RoundsCompleted);
            var recordEpsilons = new List<double>();
            for (int round = 1; round <= 2; round++)
            {
                var record = (await orchestrator.Store.TryReadJsonAsync<RoundRecord>(BlobLayout.RoundRecord(runId, round)))!;
                Assert.Equal(hospitals.Order(StringComparer.Ordinal), record.Participants.Select(p => p.HospitalId).Order(StringComparer.Ordinal));
                Assert.Empty(record.Rejected);
                Assert.Empty(record.Failed);
                Assert.Equal(36, record.TotalExamples); // 2 hospitals x 18 training records
                Assert.True(record.Metrics.HeldOutNll is > 0 and < 20, $"round {round} held-out NLL {record.Metrics.HeldOutNll}");
                // Record-level DP: the round's ε is the largest any hospital reports (each counts round × 2 steps so far).
                if (recordPrivacy)
                {
                    Assert.All(record.Participants, p => Assert.True(p.Metrics.RecordEpsilon > 0, $"{p.HospitalId} reported no record-level ε"));
                    Assert.Equal(record.Participants.Max(p => p.Metrics.RecordEpsilon), record.RecordEpsilon);
                    recordEpsilons.Add(record.RecordEpsilon!.Value);
                }
                else
                {
                    Assert.Null(record.RecordEpsilon);
                }

                // FFA-LoRA: with A frozen and shared, averaging B is exact (the A/B product error is float rounding, ~1e-7);
                // plain LoRA's is not.
                Assert.NotNull(record.LoraProductError);
                if (freezeA) Assert.True(record.LoraProductError < 1e-6, $"round {round} product error {record.LoraProductError}");
                else Assert.True(record.LoraProductError > 1e-6, $"round {round} product error {record.LoraProductError}");
            }

            if (recordPrivacy) Assert.True(recordEpsilons[1] > recordEpsilons[0], $"ε did not grow over the rounds: {string.Join(", ", recordEpsilons)}");

            // Round 0 is an ordinary adapter the orchestrator created (A seeded, B zeros); with freeze_a every A is still it.
            var initial = await ReadGlobalAsync(orchestrator, BlobLayout.RoundRecord(runId, 1), round0: true);
            var final = await ReadGlobalAsync(orchestrator, BlobLayout.RoundRecord(runId, 2), round0: false);
            Assert.All(initial.Tensors.Where(t => PeftKeys.IsLoraB(t.Name, out _)), t => Assert.All(t.Data, v => Assert.Equal(0f, v)));
            foreach (var a in initial.Tensors.Where(t => PeftKeys.IsLoraA(t.Name, out _)))
            {
                Assert.Equal(freezeA, a.Data.SequenceEqual(final[a.Name].Data));
            }

            // The final global adapter is a valid adapter for the model the agents trained.
            using var buffer = new MemoryStream();
            await orchestrator.Store.DownloadVerifiedAsync(result.GlobalAdapter!, buffer);
            buffer.Position = 0;
            Assert.NotEmpty(AdapterWireFormat.Read(buffer).Tensors);
            Assert.All(agents, a => Assert.Equal(2, a.Services.GetRequiredService<AgentStatusBoard>().Current.TasksCompleted));
        }
        finally
        {
            foreach (var agent in agents)
            {
                await agent.StopAsync();
                agent.Dispose();
            }
        }
    }

    private static async Task<LoraAdapter> ReadGlobalAsync(LocalOrchestratorHost orchestrator, BlobRef recordRef, bool round0)
    {
        var record = (await orchestrator.Store.TryReadJsonAsync<RoundRecord>(recordRef))!;
        ContentRef adapter = record.GlobalAdapter!;
        if (round0)
        {
            // The round-1 participants name the global they started from: the round-0 adapter.
            var names = new List<string>();
            var folder = BlobLayout.GlobalAdapterFolder(record.RunId) + BlobLayout.RoundSegment(0) + "/";
            await foreach (var name in orchestrator.Store.ListNamesAsync(BlobLayout.GlobalContainer, folder)) names.Add(name);
            var blob = Assert.Single(names);
            var bytes = (await orchestrator.Store.TryReadAllBytesAsync(new BlobRef(BlobLayout.GlobalContainer, blob)))!;
            return AdapterWireFormat.Read(new MemoryStream(bytes));
        }
        using var buffer = new MemoryStream();
        await orchestrator.Store.DownloadVerifiedAsync(adapter, buffer);
        buffer.Position = 0;
        return AdapterWireFormat.Read(buffer);
    }

    private static string Yaml(string[] hospitals, bool freezeA, bool recordPrivacy) => string.Create(CultureInfo.InvariantCulture, $"""
        dataset:
          name: medalpaca/medical_meadow_wikidoc_patient_information
        model:
          name: fedtune/{TinyModel.Name}
          lora:
            peft_lora_r: 4
            peft_lora_alpha: 8
            freeze_a: {(freezeA ? "true" : "false")}
        train:
          save_every_round: 1
          seq_length: 64
        {(recordPrivacy ? "  differential_privacy:\n    clip_norm: 1.0\n    noise_multiplier: 1.0\n" : "")}  learning_rate_max: 0.001
          learning_rate_min: 0.0001
          training_arguments:
            learning_rate: 0.001
            per_device_train_batch_size: 2
            max_steps: 2
            save_steps: 1
            save_total_limit: 2
        federation:
          rounds: 2
          seed: 11
          fraction_fit: 1.0
          min_fit_clients: 2
          min_available_clients: 2
          round_deadline: 120s
          on_quorum_failure: fail
          hospitals:
            - id: {hospitals[0]}
            - id: {hospitals[1]}
          strategy:
            name: fedavg
        """);
}
