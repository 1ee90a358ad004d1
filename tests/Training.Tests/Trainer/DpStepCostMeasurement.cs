using System.Diagnostics;
using FedTune.Core.Adapters;
using FedTune.Core.Configuration;
using FedTune.Training.Data;
using FedTune.Training.Lora;
using FedTune.Training.Modeling;
using FedTune.Training.Trainer;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace FedTune.Training.Tests.Trainer;

/// <summary>
/// A measurement, not a test (skipped unless <c>FEDTUNE_DP_MEASURE=1</c>): a DP-SGD step against a plain step at the default
/// simulation's shape (the embedded base model's architecture with random weights, LoRA r16 on every block Linear and the
/// output layer, 400 records of 128 tokens, batch 8), interleaved repetitions in one process; prints the medians.
/// </summary>
public sealed class DpStepCostMeasurement(ITestOutputHelper output)
{
    [MeasurementFact]
    public void Dp_step_against_plain_step_at_the_default_simulation_shape()
    {
        var config = new GptNeoXConfig { VocabSize = 8192, HiddenSize = 256, NumHiddenLayers = 4, NumAttentionHeads = 4, IntermediateSize = 1024, RotaryPct = 0.25, MaxPositionEmbeddings = 512, UseParallelResidual = true };
        using var model = new GptNeoXForCausalLM(config, CPU, ScalarType.Float32, BaseQuantization.None);
        model.InitializeRandom(1);
        LoraInjector.Apply(model, new LoraAdapterConfig { R = 16, LoraAlpha = 32, LoraDropout = 0, TargetModules = ["query_key_value", "dense", "dense_h_to_4h", "dense_4h_to_h", "embed_out"] }, 1);
        var random = new Random(3);
        var examples = Enumerable.Range(0, 400).Select(_ => TokenizedExample.FullSequence(Enumerable.Range(0, 128).Select(_ => random.Next(8192)).ToArray())).ToList();
        var plain = new TrainingRecipe { BaseModel = "m", LearningRate = 1e-3, BatchSize = 8, MaxSteps = 6, LoggingSteps = 1, LrSchedulerType = LrSchedulerType.Constant };
        var dp = plain with { RecordPrivacy = new RecordPrivacyConfig { ClipNorm = 1.0, NoiseMultiplier = 1.0 } };
        List<double> Time(TrainingRecipe recipe)
        {
            var ends = new List<double>();
            var watch = Stopwatch.StartNew();
            new CausalLmTrainer(model, recipe, new TrainerRun(1e-3, 6, 1), new CausalLmBatchCollator(0)).Train(examples, new P(_ => ends.Add(watch.Elapsed.TotalSeconds)));
            return Enumerable.Range(1, 5).Select(i => ends[i] - ends[i - 1]).ToList();
        }

        var p = new List<double>();
        var d = new List<double>();
        for (int rep = 0; rep < 6; rep++)
        {
            var a = Time(plain);
            var b = Time(dp);
            p.AddRange(a);
            d.AddRange(b);
            output.WriteLine($"rep {rep}: plain median {Median(a):F3} s, DP median {Median(b):F3} s, ratio {Median(b) / Median(a):F2}");
        }

        output.WriteLine($"all: plain median {Median(p):F3} s/step, DP median {Median(d):F3} s/step, ratio {Median(d) / Median(p):F2} (threads {TorchSharp.torch.get_num_threads()})");
    }

    private sealed class MeasurementFactAttribute : FactAttribute
    {
        public MeasurementFactAttribute()
        {
            if (Environment.GetEnvironmentVariable("FEDTUNE_DP_MEASURE") != "1")
            {
                Skip = "A timing measurement: set FEDTUNE_DP_MEASURE=1 to run it.";
            }
        }
    }

    private static double Median(List<double> x) { var s = x.Order().ToList(); return s[s.Count / 2]; }

    private sealed class P(Action<TrainingLogEntry> a) : IProgress<TrainingLogEntry> { public void Report(TrainingLogEntry value) => a(value); }
}
