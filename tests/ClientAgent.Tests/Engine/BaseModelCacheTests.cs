using FedTune.ClientAgent.Configuration;
using FedTune.ClientAgent.Engine;
using FedTune.ClientAgent.Tests.Support;
using FedTune.Core.Configuration;
using FedTune.TestSupport;
using FedTune.Training.Lora;
using FedTune.Training.Modeling;
using FedTune.Training.Tokenization;
using TorchSharp;

namespace FedTune.ClientAgent.Tests.Engine;

/// <summary>When the agent keeps its base model for the next task, and when it lets it go.</summary>
// In the Azurite group so no model is built while another test trains (model construction draws from torch's global RNG).
[Collection(AzuriteTestGroup.Name)]
public sealed class BaseModelCacheTests
{
    private readonly ManualClock _clock = new();
    private readonly ListLogger<BaseModelCache> _log = new();
    private long _availableBytes = long.MaxValue;
    private int _loads;

    private BaseModelCache Cache(ModelCacheOptions? settings = null) =>
        new(settings ?? new ModelCacheOptions(), _clock, _log, () => _availableBytes);

    private static BaseModelKey Key(string run = "run-a", BaseQuantization quantization = BaseQuantization.None) =>
        BaseModelKey.For(run, TinyModel.Folder, quantization, torch.CPU);

    private LoadedBaseModel Load(BaseModelKey key)
    {
        _loads++;
        return new LoadedBaseModel(key, HuggingFaceModelLoader.Load(TinyModel.Folder, quantization: key.Quantization), HuggingFaceTokenizer.Load(TinyModel.Folder));
    }

    /// <summary>A task's use of the model: LoRA attached (and trained), checkpointing on, training mode.</summary>
    private static void UseForATask(GptNeoXForCausalLM model)
    {
        LoraInjector.Apply(model, new FedTune.Core.Adapters.LoraAdapterConfig { R = 2, LoraAlpha = 4 }, seed: 1);
        model.GradientCheckpointing = true;
        model.SetTraining(true);
    }

    [Fact]
    public void A_completed_task_returns_the_model_as_loaded_and_the_runs_next_task_reuses_it()
    {
        using var cache = Cache();
        var first = cache.Take(Key(), () => Load(Key()));
        UseForATask(first.Model.Model);
        cache.Return(first, reusable: true);

        var second = cache.Take(Key(), () => Load(Key()));

        Assert.Equal(1, _loads);
        Assert.Same(first.Model, second.Model);
        Assert.Equal((true, false), (first.Loaded, second.Loaded));
        Assert.Equal((1, 1), (first.LoadsThisRun, second.LoadsThisRun));
        Assert.Equal(0, second.LoadSeconds);
        var model = second.Model.Model;
        Assert.Empty(model.AllAdapterWeights());
        Assert.All(model.LinearLayers(), l => Assert.False(l.Value.HasLora));
        Assert.False(model.GradientCheckpointing);
        Assert.False(model.training);
        Assert.All(model.parameters(), p => Assert.False(p.requires_grad));
        UseForATask(model); // a LoRA branch attaches again, as on a freshly loaded model
        cache.Return(second, reusable: true);
    }

    [Fact]
    public void A_task_of_another_run_or_quantization_disposes_the_kept_model_and_loads_its_own()
    {
        using var cache = Cache();
        var runA = cache.Take(Key("run-a"), () => Load(Key("run-a")));
        cache.Return(runA, reusable: true);

        var runB = cache.Take(Key("run-b"), () => Load(Key("run-b")));
        cache.Return(runB, reusable: true);
        var nf4 = cache.Take(Key("run-b", BaseQuantization.Nf4), () => Load(Key("run-b", BaseQuantization.Nf4)));

        Assert.Equal(3, _loads);
        Assert.True(IsDisposed(runA.Model.Model));
        Assert.True(IsDisposed(runB.Model.Model));
        Assert.False(IsDisposed(nf4.Model.Model));
        Assert.Equal((1, 2), (cache.LoadsFor("run-a"), cache.LoadsFor("run-b")));
        Assert.Contains(_log.Lines, l => l.Contains("Letting go of the base model kept for run run-a: a task of run run-b arrived", StringComparison.Ordinal));
        Assert.Contains(_log.Lines, l => l.Contains("the recipe asks for quantization Nf4", StringComparison.Ordinal));
        cache.Return(nf4, reusable: false);
        Assert.True(IsDisposed(nf4.Model.Model));
        Assert.False(cache.IsHolding);
    }

    [Fact]
    public void Low_memory_after_a_task_or_while_idle_and_the_idle_timeout_let_the_model_go()
    {
        using var cache = Cache(new ModelCacheOptions { MinAvailableMemoryMiB = 512, IdleTimeout = TimeSpan.FromMinutes(10) });
        _availableBytes = 100L * 1024 * 1024;
        var lowAfterTask = cache.Take(Key(), () => Load(Key()));
        cache.Return(lowAfterTask, reusable: true);
        Assert.False(cache.IsHolding);
        Assert.True(IsDisposed(lowAfterTask.Model.Model));
        Assert.Contains(_log.Lines, l => l.Contains("only 100 MiB of memory is available (ModelCache:MinAvailableMemoryMiB 512)", StringComparison.Ordinal));

        _availableBytes = 4L * 1024 * 1024 * 1024;
        cache.Return(cache.Take(Key(), () => Load(Key())), reusable: true);
        cache.Trim();
        Assert.True(cache.IsHolding);
        _availableBytes = 100L * 1024 * 1024;
        cache.Trim();
        Assert.False(cache.IsHolding);

        _availableBytes = 4L * 1024 * 1024 * 1024;
        cache.Return(cache.Take(Key(), () => Load(Key())), reusable: true);
        _clock.Advance(TimeSpan.FromMinutes(9));
        cache.Trim();
        Assert.True(cache.IsHolding);
        _clock.Advance(TimeSpan.FromMinutes(1));
        cache.Trim();
        Assert.False(cache.IsHolding);
        Assert.Contains(_log.Lines, l => l.Contains("no task for 00:10:00 (ModelCache:IdleTimeout)", StringComparison.Ordinal));
    }

    [Fact]
    public void Switched_off_every_task_loads_its_own_model_and_nothing_is_kept()
    {
        using var cache = Cache(new ModelCacheOptions { Enabled = false });
        var first = cache.Take(Key(), () => Load(Key()));
        cache.Return(first, reusable: true);
        var second = cache.Take(Key(), () => Load(Key()));
        cache.Return(second, reusable: true);

        Assert.Equal(2, _loads);
        Assert.Equal(2, second.LoadsThisRun);
        Assert.True(IsDisposed(first.Model.Model) && IsDisposed(second.Model.Model));
        Assert.False(cache.IsHolding);
    }

    [Fact]
    public void Disposing_the_cache_disposes_the_kept_model()
    {
        var cache = Cache();
        var taken = cache.Take(Key(), () => Load(Key()));
        cache.Return(taken, reusable: true);

        cache.Dispose();

        Assert.True(IsDisposed(taken.Model.Model));
        Assert.Contains(_log.Lines, l => l.Contains("the agent is stopping", StringComparison.Ordinal));
    }

    [Fact]
    public void Changed_model_files_give_another_key()
    {
        using var dir = new TempDirectory();
        var folder = dir.File("model");
        Directory.CreateDirectory(folder);
        foreach (var file in Directory.GetFiles(TinyModel.Folder)) File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
        var before = BaseModelKey.For("run-a", folder, BaseQuantization.None, torch.CPU);
        Assert.Equal(before, BaseModelKey.For("run-a", folder, BaseQuantization.None, torch.CPU));

        File.SetLastWriteTimeUtc(Path.Combine(folder, "model.safetensors"), DateTime.UtcNow.AddMinutes(1));

        Assert.NotEqual(before, BaseModelKey.For("run-a", folder, BaseQuantization.None, torch.CPU));
    }

    private static bool IsDisposed(GptNeoXForCausalLM model)
    {
        try
        {
            return model.Backbone.EmbedIn.weight!.IsInvalid;
        }
        catch (ObjectDisposedException)
        {
            return true;
        }
    }

    private sealed class ManualClock : TimeProvider
    {
        private DateTimeOffset _now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }
}
