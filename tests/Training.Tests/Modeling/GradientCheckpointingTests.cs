using FedTune.Core.Adapters;
using FedTune.Training.Lora;
using FedTune.Training.Modeling;
using TorchSharp;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace FedTune.Training.Tests.Modeling;

/// <summary>Measures process memory, so it runs alone (no other test allocating meanwhile).</summary>
[CollectionDefinition(nameof(ProcessMemoryMeasurements), DisableParallelization = true)]
public sealed class ProcessMemoryMeasurements;

[Collection(nameof(ProcessMemoryMeasurements))]
public sealed class GradientCheckpointingTests(ITestOutputHelper output)
{
    private static Dictionary<string, Tensor> AdapterGradients(GptNeoXForCausalLM model, Tensor ids, Tensor? mask, bool checkpointing, long dropoutSeed)
    {
        model.GradientCheckpointing = checkpointing;
        model.SetTraining(true);
        foreach (var p in model.AdapterParameters.Values) p.grad = null;
        torch.random.manual_seed(dropoutSeed);
        using (var scope = torch.NewDisposeScope())
        {
            var logits = model.Forward(ids, mask);
            var loss = nn.functional.cross_entropy(
                logits.narrow(1, 0, ids.shape[1] - 1).reshape(-1, model.VocabularySize), ids.narrow(1, 1, ids.shape[1] - 1).reshape(-1));
            loss.backward();
        }

        return model.AdapterParameters.ToDictionary(p => p.Key, p => p.Value.grad!.clone());
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.2)]
    public void Checkpointed_gradients_equal_the_plain_ones(double loraDropout)
    {
        using var model = ModelTestSupport.TinyModel(seed: 2);
        LoraInjector.Apply(model, new LoraAdapterConfig { R = 4, LoraAlpha = 8, LoraDropout = loraDropout, TargetModules = ["query_key_value", "dense_4h_to_h"] }, seed: 1);
        using (torch.no_grad())
            foreach (var (name, p) in model.AdapterParameters.Where(p => p.Key.Contains("lora_B", StringComparison.Ordinal)))
                p.normal_(0, 0.1);
        using var scope = torch.NewDisposeScope();
        var ids = ModelTestSupport.RandomIds(2, 9, model.VocabularySize, 4);
        var mask = torch.ones(2, 9, dtype: ScalarType.Int64);
        mask[1, ..2] = torch.tensor(0L);
        var plain = AdapterGradients(model, ids, mask, checkpointing: false, dropoutSeed: 77);
        var checkpointed = AdapterGradients(model, ids, mask, checkpointing: true, dropoutSeed: 77);
        Assert.Equal(8, plain.Count);
        foreach (var (name, expected) in plain)
        {
            Assert.True(expected.abs().sum().item<float>() > 0, $"{name} has a zero gradient");
            double error = ModelTestSupport.MaxRelativeError(checkpointed[name], expected);
            Assert.True(error < 1e-5, $"{name}: checkpointed gradient differs by {error:E2}");
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_training_step_leaves_no_tensor_alive_whether_or_not_blocks_are_checkpointed(bool checkpointing)
    {
        // The checkpointed backward used to hand its input gradient to autograd detached from every dispose scope:
        // one [batch, time, hidden] tensor per block per step stayed alive until the GC finalised it, about 35 MiB
        // per step at the pythia-70m shape (RSS grew 138 MiB per 4 steps in `fedtune bench train`).
        using var model = ModelTestSupport.TinyModel(seed: 2);
        LoraInjector.Apply(model, new LoraAdapterConfig { R = 4, LoraAlpha = 8, LoraDropout = 0.1, TargetModules = ["query_key_value"] }, seed: 1);
        model.GradientCheckpointing = checkpointing;
        model.SetTraining(true);
        var ids = ModelTestSupport.RandomIds(2, 9, model.VocabularySize, 4);
        void Step()
        {
            using var scope = torch.NewDisposeScope();
            foreach (var p in model.AdapterParameters.Values) p.grad = null;
            var logits = model.Forward(ids, null);
            nn.functional.cross_entropy(logits.narrow(1, 0, 8).reshape(-1, model.VocabularySize), ids.narrow(1, 1, 8).reshape(-1)).backward();
            foreach (var p in model.AdapterParameters.Values) p.grad!.Dispose(); // the getter wraps the gradient in a new handle each call
        }

        Step();
        var statistics = DisposeScopeManager.Statistics;
        long before = statistics.ThreadTotalLiveCount;

        for (int step = 0; step < 3; step++) Step();

        long leaked = statistics.ThreadTotalLiveCount - before;
        Assert.True(leaked <= 0, $"{leaked} tensors left alive by 3 steps (checkpointing {checkpointing})");
        ids.Dispose();
    }

    [Fact]
    public void Checkpointing_lowers_the_memory_held_for_backward()
    {
        var config = ModelTestSupport.TinyConfig() with { HiddenSize = 128, NumAttentionHeads = 4, NumHiddenLayers = 4, IntermediateSize = 512, MaxPositionEmbeddings = 512, VocabSize = 256 };
        using var model = new GptNeoXForCausalLM(config);
        model.InitializeRandom(1);
        LoraInjector.Apply(model, new LoraAdapterConfig { R = 8, LoraAlpha = 16 }, seed: 1);
        model.SetTraining(true);
        using var idsScope = torch.NewDisposeScope();
        var ids = ModelTestSupport.RandomIds(2, 256, config.VocabSize, 3);

        // Resident memory held between forward and backward (the saved activations), measured after returning freed pages.
        long HeldForBackward(bool checkpointing)
        {
            model.GradientCheckpointing = checkpointing;
            using var scope = torch.NewDisposeScope();
            GC.Collect();
            GC.WaitForPendingFinalizers();
            long before = ResidentMemory.TrimmedBytes();
            var logits = model.Forward(ids, null);
            var loss = logits.square().mean();
            long held = ResidentMemory.TrimmedBytes() - before;
            loss.backward();
            return held;
        }

        HeldForBackward(false); // warm-up
        long plain = Enumerable.Range(0, 3).Select(_ => HeldForBackward(false)).Order().ElementAt(1);
        long checkpointed = Enumerable.Range(0, 3).Select(_ => HeldForBackward(true)).Order().ElementAt(1);
        output.WriteLine($"memory held for backward (B=2, T=256, d=128, 4 layers): plain {plain / 1e6:F1} MB, checkpointed {checkpointed / 1e6:F1} MB");
        Assert.True(checkpointed < plain / 2, $"checkpointed {checkpointed} bytes is not well below plain {plain} bytes");
    }
}

/// <summary>Process resident memory (Linux VmRSS) after returning freed heap pages to the OS.</summary>
internal static class ResidentMemory
{
    public static long TrimmedBytes()
    {
        _ = MallocTrim(UIntPtr.Zero);
        var line = File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int MallocTrim(UIntPtr pad);
}
