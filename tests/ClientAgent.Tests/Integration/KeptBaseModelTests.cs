using FedTune.ClientAgent.Configuration;
using FedTune.ClientAgent.Engine;
using FedTune.ClientAgent.Execution;
using FedTune.ClientAgent.Hosting;
using FedTune.ClientAgent.Status;
using FedTune.ClientAgent.Tests.Support;
using FedTune.Core.Configuration;
using FedTune.Core.Protocol;
using FedTune.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace FedTune.ClientAgent.Tests.Integration;

/// <summary>
/// The agent keeps the loaded base model between the tasks of a run (ModelCache): the run's later rounds skip loading
/// it, and what they upload is bit-identical to what an agent that reloads the model every round uploads.
/// </summary>
[Collection(AzuriteTestGroup.Name)]
public sealed class KeptBaseModelTests(AzuriteFixture azurite)
{
    public static TheoryData<string> Recipes => ["full precision", "nf4, dropout, checkpointing, fedprox", "int8, freeze_a"];

    private static TrainingRecipe RecipeFor(string name)
    {
        var recipe = AgentTestBed.Recipe(maxSteps: 3);
        return name switch
        {
            "full precision" => recipe,
            "nf4, dropout, checkpointing, fedprox" => recipe with
            {
                Quantization = BaseQuantization.Nf4,
                GradientCheckpointing = true,
                ProximalMu = 0.5,
                Lora = recipe.Lora with { Dropout = 0.2 },
            },
            "int8, freeze_a" => recipe with { Quantization = BaseQuantization.Int8, Lora = recipe.Lora with { FreezeA = true } },
            _ => throw new ArgumentOutOfRangeException(nameof(name), name, null),
        };
    }

    [Theory]
    [MemberData(nameof(Recipes))]
    public async Task Two_rounds_upload_the_same_adapter_bytes_whether_the_base_model_is_kept_or_reloaded(string recipeName)
    {
        var recipe = RecipeFor(recipeName);
        using var keeping = new AgentTestBed(azurite);
        using var reloading = new AgentTestBed(azurite);
        File.Copy(keeping.DataFile, reloading.DataFile, overwrite: true);
        using var kept = new BaseModelCache(new ModelCacheOptions(), TimeProvider.System, new ListLogger<BaseModelCache>(), () => long.MaxValue);
        using var reloaded = new BaseModelCache(new ModelCacheOptions { Enabled = false }, TimeProvider.System, new ListLogger<BaseModelCache>(), () => long.MaxValue);

        var withKept = await TwoRoundsAsync(keeping, recipe, kept);
        var withReloaded = await TwoRoundsAsync(reloading, recipe, reloaded);

        Assert.Equal(withReloaded[0].Bytes, withKept[0].Bytes);
        Assert.Equal(withReloaded[1].Bytes, withKept[1].Bytes);
        Assert.NotEqual(withKept[0].Bytes, withKept[1].Bytes);
        Assert.Equal([1, 1], withKept.Select(r => r.Manifest.Ran!.BaseModelLoads));
        Assert.Equal([1, 2], withReloaded.Select(r => r.Manifest.Ran!.BaseModelLoads));
        Assert.True(withKept[0].Manifest.Timings.ModelLoadSeconds > 0, "round 1 loaded the model");
        Assert.Equal(0, withKept[1].Manifest.Timings.ModelLoadSeconds);
        Assert.All(withReloaded, r => Assert.True(r.Manifest.Timings.ModelLoadSeconds > 0));
        // Per-round figures stay per round on a kept model.
        Assert.Equal(withReloaded.Select(r => r.Manifest.Ran!.CheckpointedBlockPasses), withKept.Select(r => r.Manifest.Ran!.CheckpointedBlockPasses));
        Assert.Equal(withReloaded.Select(r => r.Manifest.Metrics.HeldOutNll), withKept.Select(r => r.Manifest.Metrics.HeldOutNll));
        Assert.True(kept.IsHolding);
        Assert.False(reloaded.IsHolding);
    }

    /// <summary>Round 1 from the round-0 adapter, round 2 from round 1's upload (a one-hospital federation), both through the agent's runner.</summary>
    private static async Task<List<(byte[] Bytes, UpdateManifest Manifest)>> TwoRoundsAsync(AgentTestBed bed, TrainingRecipe recipe, BaseModelCache models)
    {
        var rounds = new List<(byte[], UpdateManifest)>();
        ContentRef? global = await bed.PublishGlobalAdapterAsync(TinyModel.InitialAdapterWireBytes(recipe with { BaseModel = TinyModel.Name }));
        for (int round = 1; round <= 2; round++)
        {
            await bed.WriteTaskAsync(round, global, recipe: recipe);
            var (outcome, _, log) = await bed.RunOpenTaskAsync(models: models);
            Assert.True(outcome == TaskOutcome.Completed, string.Join("\n", log.Lines));
            var manifest = (await bed.ManifestAsync(round))!;
            var bytes = (await bed.Store.TryReadAllBytesAsync(manifest.Adapter.Blob))!;
            rounds.Add((bytes, manifest));
            global = await bed.PublishGlobalAdapterAsync(bytes);
        }

        return rounds;
    }

    [Fact]
    public async Task The_agent_service_loads_the_base_model_once_for_three_rounds_and_lets_it_go_when_it_stops()
    {
        using var bed = new AgentTestBed(azurite);
        var options = bed.Options();
        using var host = AgentHost.CreateBuilder([.. AgentTestBed.CommandLine(options)]).Build();
        var models = host.Services.GetRequiredService<BaseModelCache>();
        var manifests = new List<UpdateManifest>();
        await host.StartAsync();
        try
        {
            ContentRef? global = await bed.PublishGlobalAdapterAsync();
            for (int round = 1; round <= 3; round++)
            {
                await bed.WriteTaskAsync(round, global);
                var manifest = await WaitForManifestAsync(bed, round);
                manifests.Add(manifest);
                global = await bed.PublishGlobalAdapterAsync((await bed.Store.TryReadAllBytesAsync(manifest.Adapter.Blob))!);
            }

            Assert.True(models.IsHolding, "the agent let the model go between rounds of one run");
        }
        finally
        {
            await host.StopAsync();
        }

        var status = AgentStatusBoard.ReadFile(Path.Combine(options.WorkPath, "status.json"))!;
        Assert.Equal((3, 1), (status.TasksCompleted, status.ModelLoads));
        Assert.Equal([1, 1, 1], manifests.Select(m => m.Ran!.BaseModelLoads));
        Assert.Equal(1, models.LoadsFor(bed.RunId));
        Assert.False(models.IsHolding, "the stopped agent still holds the model");
        Assert.Equal(AgentActivity.Stopped, status.Activity);
    }

    [Fact]
    public async Task With_ModelCache_Enabled_false_the_agent_service_loads_the_base_model_for_every_round()
    {
        using var bed = new AgentTestBed(azurite);
        var options = bed.Options();
        options.ModelCache.Enabled = false;
        using var host = AgentHost.CreateBuilder([.. AgentTestBed.CommandLine(options)]).Build();
        await host.StartAsync();
        try
        {
            var global = await bed.PublishGlobalAdapterAsync();
            for (int round = 1; round <= 2; round++)
            {
                await bed.WriteTaskAsync(round, global);
                await WaitForManifestAsync(bed, round);
            }
        }
        finally
        {
            await host.StopAsync();
        }

        Assert.Equal(2, host.Services.GetRequiredService<AgentStatusBoard>().Current.ModelLoads);
        var first = (await bed.ManifestAsync(1))!;
        var second = (await bed.ManifestAsync(2))!;
        Assert.Equal((1, 2), (first.Ran!.BaseModelLoads, second.Ran!.BaseModelLoads));
    }

    private static async Task<UpdateManifest> WaitForManifestAsync(AgentTestBed bed, int round)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (DateTime.UtcNow < deadline)
        {
            if (await bed.ManifestAsync(round) is { } manifest) return manifest;
            Assert.Null(await bed.MarkerAsync(round));
            await Task.Delay(100);
        }

        throw new TimeoutException($"No manifest for round {round} within 2 minutes.");
    }
}
