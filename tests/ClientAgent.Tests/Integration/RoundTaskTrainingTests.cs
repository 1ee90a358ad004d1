using System.Text;
using FedTune.ClientAgent.Execution;
using FedTune.ClientAgent.Tests.Support;
using FedTune.Core.Adapters;
using FedTune.Core.Formats;
using FedTune.Core.Protocol;
using FedTune.TestSupport;

namespace FedTune.ClientAgent.Tests.Integration;

/// <summary>A real round with the tiny model: train from the global adapter, evaluate, upload adapter then manifest.</summary>
[Collection(AzuriteTestGroup.Name)]
public sealed class RoundTaskTrainingTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task A_round_trains_from_the_global_adapter_and_uploads_a_verified_adapter_and_manifest()
    {
        using var bed = new AgentTestBed(azurite);
        var global = await bed.PublishGlobalAdapterAsync();
        await bed.WriteTaskAsync(1, global);

        var (outcome, status, _) = await bed.RunOpenTaskAsync();

        Assert.Equal(TaskOutcome.Completed, outcome);
        var manifest = await bed.ManifestAsync(1);
        Assert.NotNull(manifest);
        Assert.Equal(18, manifest.ExampleCount); // 24 records, 25% held out
        Assert.Equal(2, manifest.Metrics.StepsDone);
        Assert.Equal(6, manifest.Metrics.HeldOutExamples);
        Assert.True(manifest.Metrics.HeldOutNll is > 0 and < 20, $"held-out NLL {manifest.Metrics.HeldOutNll}");
        Assert.True(manifest.Metrics.TrainLoss is > 0 and < 20);
        Assert.Equal(global.Sha256, manifest.BaseGlobalSha256);
        Assert.False(string.IsNullOrEmpty(manifest.AgentVersion));
        Assert.True(manifest.Timings.TrainSeconds > 0);

        var adapterBytes = await bed.Store.TryReadAllBytesAsync(manifest.Adapter.Blob);
        Assert.NotNull(adapterBytes);
        Assert.Equal(manifest.Adapter.Sha256, ContentHash.Compute(adapterBytes));
        Assert.Equal(manifest.Adapter.Bytes, adapterBytes.LongLength);
        var trained = AdapterWireFormat.Read(new MemoryStream(adapterBytes));
        var start = AdapterWireFormat.Read(new MemoryStream((await bed.Store.TryReadAllBytesAsync(global.Blob))!));
        Assert.Equal(start.Names, trained.Names);
        Assert.Contains(trained.Tensors, t => !t.Data.SequenceEqual(start[t.Name].Data));
        Assert.Equal(Status.AgentActivity.Idle, status.Current.Activity);
        Assert.Equal(2, status.Current.Step);
    }

    [Fact]
    public async Task Round_one_starts_from_the_round_zero_adapter_like_any_other_round()
    {
        using var bed = new AgentTestBed(azurite);
        var initial = await bed.PublishGlobalAdapterAsync(); // what the orchestrator's round 0 writes: A seeded, B zeros
        await bed.WriteTaskAsync(1, initial);

        var (outcome, _, log) = await bed.RunOpenTaskAsync();

        Assert.True(outcome == TaskOutcome.Completed, string.Join("\n", log.Lines));
        var manifest = (await bed.ManifestAsync(1))!;
        Assert.Equal(initial.Sha256, manifest.BaseGlobalSha256);
        var start = AdapterWireFormat.Read(new MemoryStream((await bed.Store.TryReadAllBytesAsync(initial.Blob))!));
        var trained = AdapterWireFormat.Read(new MemoryStream((await bed.Store.TryReadAllBytesAsync(manifest.Adapter.Blob))!));
        Assert.Equal(start.Names, trained.Names);
        Assert.All(start.Tensors.Where(t => PeftKeys.IsLoraB(t.Name, out _)), t => Assert.All(t.Data, v => Assert.Equal(0f, v)));
        Assert.Contains(trained.Tensors, t => PeftKeys.IsLoraB(t.Name, out _) && t.Data.Any(v => v != 0));
        Assert.Contains(trained.Tensors, t => PeftKeys.IsLoraA(t.Name, out _) && !t.Data.SequenceEqual(start[t.Name].Data));
    }

    [Fact]
    public async Task With_freeze_a_the_agent_trains_only_B_and_uploads_every_A_bit_identical_to_the_global()
    {
        using var bed = new AgentTestBed(azurite);
        var initial = await bed.PublishGlobalAdapterAsync();
        await bed.WriteTaskAsync(1, initial, recipe: AgentTestBed.Recipe() with { Lora = AgentTestBed.Recipe().Lora with { FreezeA = true } });

        var (outcome, _, log) = await bed.RunOpenTaskAsync();

        Assert.True(outcome == TaskOutcome.Completed, string.Join("\n", log.Lines));
        var manifest = (await bed.ManifestAsync(1))!;
        var start = AdapterWireFormat.Read(new MemoryStream((await bed.Store.TryReadAllBytesAsync(initial.Blob))!));
        var trained = AdapterWireFormat.Read(new MemoryStream((await bed.Store.TryReadAllBytesAsync(manifest.Adapter.Blob))!));
        Assert.All(trained.Tensors.Where(t => PeftKeys.IsLoraA(t.Name, out _)), t => Assert.Equal(start[t.Name].Data, t.Data));
        Assert.Contains(trained.Tensors, t => PeftKeys.IsLoraB(t.Name, out _) && t.Data.Any(v => v != 0));
    }

    [Fact]
    public async Task Only_adapter_tensors_counts_and_aggregate_metrics_leave_the_hospital()
    {
        using var bed = new AgentTestBed(azurite);
        var global = await bed.PublishGlobalAdapterAsync();
        var task = await bed.WriteTaskAsync(1, global);
        var before = (await bed.HospitalBlobsAsync()).Select(b => b.Name).ToHashSet();
        var globalBefore = await ListGlobalAsync(bed);

        Assert.Equal(TaskOutcome.Completed, (await bed.RunOpenTaskAsync()).Outcome);

        var written = (await bed.HospitalBlobsAsync()).Where(b => !before.Contains(b.Name)).ToList();
        Assert.Equal(await ListGlobalAsync(bed), globalBefore); // the agent writes nothing outside its own container

        // Exactly: the lease's lock blob (empty), one adapter, one manifest.
        Assert.Equal(3, written.Count);
        var lockBlob = Assert.Single(written, b => b.Name.EndsWith("/agent.lock", StringComparison.Ordinal));
        Assert.Empty(lockBlob.Bytes);
        var adapter = Assert.Single(written, b => b.Name.StartsWith(task.UpdateFolder + "adapter-", StringComparison.Ordinal));
        var manifest = Assert.Single(written, b => b.Name == task.ManifestBlob);

        // No blob holds any record's text (each record carries a unique marker), in UTF-8 or UTF-16.
        foreach (var (name, bytes) in written)
        {
            var utf8 = Encoding.UTF8.GetString(bytes);
            var utf16 = Encoding.Unicode.GetString(bytes);
            foreach (var marker in bed.Markers)
            {
                Assert.DoesNotContain(marker, utf8, StringComparison.Ordinal);
                Assert.DoesNotContain(marker, utf16, StringComparison.Ordinal);
            }

            Assert.DoesNotContain("fever", utf8, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("Patient", utf8, StringComparison.Ordinal);
        }

        // The adapter holds LoRA tensors and the adapter config only.
        using (var reader = SafetensorsReader.Open(new MemoryStream(adapter.Bytes), leaveOpen: false, "uploaded adapter"))
        {
            Assert.All(reader.Tensors.Select(t => t.Name), n => Assert.True(PeftKeys.IsLoraA(n, out _) || PeftKeys.IsLoraB(n, out _), n));
            Assert.Equal(new[] { "fedtune.adapter_config", "fedtune.wire_version", "format" }, reader.Metadata.Keys.Order(StringComparer.Ordinal));
        }

        // The manifest: ids, hashes, counts, aggregate metrics, timings and the recipe as run; nothing per record.
        using var json = System.Text.Json.JsonDocument.Parse(manifest.Bytes);
        var allowed = new HashSet<string>(StringComparer.Ordinal)
        {
            "schema_version", "run_id", "round", "attempt", "hospital_id", "adapter", "blob", "container", "name", "sha256", "bytes",
            "base_global_sha256", "example_count", "metrics", "train_loss", "steps_done", "held_out_nll", "held_out_tokens",
            "held_out_examples", "timings", "download_seconds", "train_seconds", "eval_seconds", "upload_seconds", "busy_seconds", "model_load_seconds",
            "agent_version", "completed_utc",
            // The recipe as run: settings and totals of this machine's round, nothing per record.
            "ran", "quantization", "base_model_bytes", "base_model_loads", "gradient_checkpointing", "checkpointed_block_passes", "reused_projection_outputs", "padding_side", "seq_length",
            "batch_size", "gradient_accumulation_steps", "steps", "learning_rate", "lr_scheduler_type", "lora_rank", "lora_alpha",
            "lora_dropout", "freeze_a", "proximal_mu", "logging_steps", "save_steps", "save_total_limit", "train_tokens",
            "peak_memory_bytes", "device", "eval_every_rounds", "eval_examples",
        };
        Assert.All(PropertyNames(json.RootElement), n => Assert.Contains(n, allowed));
    }

    private static IEnumerable<string> PropertyNames(System.Text.Json.JsonElement element) =>
        element.ValueKind == System.Text.Json.JsonValueKind.Object
            ? element.EnumerateObject().SelectMany(p => PropertyNames(p.Value).Prepend(p.Name))
            : [];

    private static async Task<List<string>> ListGlobalAsync(AgentTestBed bed)
    {
        var names = new List<string>();
        await foreach (var name in bed.Store.ListNamesAsync(BlobLayout.GlobalContainer, "runs/" + bed.RunId + "/")) names.Add(name);
        return names;
    }
}
