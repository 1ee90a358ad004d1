using FedTune.Core.Configuration;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using FedTune.Core.Adapters;
using FedTune.Training.Data;
using FedTune.Training.Lora;
using FedTune.Training.Modeling;
using FedTune.Training.Trainer;
using TorchSharp;
using static TorchSharp.torch;

namespace FedTune.Training.Benchmarks;

/// <summary>
/// Training speed of the C# trainer against PyTorch eager on the same GPT-NeoX shapes and step (CPU): for each shape,
/// runs <see cref="CausalLmTrainer"/> on random full-length sequences and then <c>scripts/bench_train.py</c> with the
/// same shapes and thread count, and reports tokens/s, seconds per step, peak memory and the ratio.
/// </summary>
public static class TrainBenchmark
{
    public static IReadOnlyList<TrainBenchmarkResult> Run(TrainBenchmarkOptions options, TextWriter? log = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        torch.set_num_threads(options.Threads);
        var results = new List<TrainBenchmarkResult>();
        foreach (var shape in options.Shapes)
        {
            cancellationToken.ThrowIfCancellationRequested();
            log?.WriteLine($"[{shape.Name}] TorchSharp: batch {options.BatchSize} × {options.SeqLength} tokens, {options.Threads} threads, {options.Steps} timed steps");
            var torchSharp = RunTorchSharp(shape, options, cancellationToken);
            log?.WriteLine($"[{shape.Name}] TorchSharp {Describe(torchSharp)}");
            FrameworkFigures? pyTorch = null;
            if (options.PythonExecutable is { } python)
            {
                pyTorch = RunPyTorch(shape, options, python, cancellationToken);
                log?.WriteLine($"[{shape.Name}] PyTorch {Describe(pyTorch)}");
            }

            var result = new TrainBenchmarkResult(shape.Name, options.SeqLength, options.BatchSize, options.Threads, torchSharp, pyTorch);
            results.Add(result);
            if (result.Ratio is { } ratio)
            {
                log?.WriteLine($"[{shape.Name}] ratio TorchSharp/PyTorch tokens/s = {ratio:F2}");
            }
        }

        return results;
    }

    private static string Describe(FrameworkFigures f) =>
        string.Create(CultureInfo.InvariantCulture, $"{f.TokensPerSecond:F1} tokens/s, {f.SecondsPerStep:F2} s/step, peak {f.PeakMemoryMiB:F0} MiB");

    private static FrameworkFigures RunTorchSharp(BenchmarkModelShape shape, TrainBenchmarkOptions options, CancellationToken cancellationToken)
    {
        var config = shape.Config with { MaxPositionEmbeddings = Math.Max(shape.Config.MaxPositionEmbeddings, options.SeqLength) };
        using var model = new GptNeoXForCausalLM(config, CPU);
        model.InitializeRandom(options.Seed);
        LoraInjector.Apply(model, new LoraAdapterConfig { R = options.LoraR, LoraAlpha = options.LoraAlpha, LoraDropout = options.LoraDropout }, options.Seed);

        var random = new Random(options.Seed);
        var examples = Enumerable.Range(0, options.BatchSize)
            .Select(_ => TokenizedExample.FullSequence(Enumerable.Range(0, options.SeqLength).Select(_ => random.Next(config.VocabSize)).ToArray()))
            .ToList();
        var recipe = new TrainingRecipe
        {
            BaseModel = shape.Name,
            LearningRate = options.LearningRate,
            BatchSize = options.BatchSize,
            MaxSteps = options.WarmupSteps + options.Steps,
            LrSchedulerType = LrSchedulerType.Cosine,
            LoggingSteps = 1,
        };
        var run = TrainerRun.For(recipe, options.LearningRate, examples.Count, options.Seed);

        var stopwatch = new Stopwatch();
        var stepEnds = new List<(int Step, double Seconds, long Tokens)>();
        var progress = new StepClock(entry => stepEnds.Add((entry.Step, stopwatch.Elapsed.TotalSeconds, entry.Tokens)));
        stopwatch.Start();
        new CausalLmTrainer(model, recipe, run, new CausalLmBatchCollator(0)).Train(examples, progress, cancellationToken);

        var start = options.WarmupSteps == 0 ? (Seconds: 0.0, Tokens: 0L) : (stepEnds[options.WarmupSteps - 1].Seconds, stepEnds[options.WarmupSteps - 1].Tokens);
        var seconds = stepEnds[^1].Seconds - start.Seconds;
        var tokens = stepEnds[^1].Tokens - start.Tokens;
        using var process = Process.GetCurrentProcess();
        return new FrameworkFigures("torchsharp", tokens / seconds, seconds / options.Steps, process.PeakWorkingSet64 / 1048576.0);
    }

    private static FrameworkFigures RunPyTorch(BenchmarkModelShape shape, TrainBenchmarkOptions options, string python, CancellationToken cancellationToken)
    {
        var script = options.ScriptPath ?? LocateScript();
        var c = shape.Config;
        var start = new ProcessStartInfo(python)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[]
                 {
                     script, "--json", "--name", shape.Name,
                     "--vocab", Invariant(c.VocabSize), "--hidden", Invariant(c.HiddenSize), "--layers", Invariant(c.NumHiddenLayers),
                     "--heads", Invariant(c.NumAttentionHeads), "--intermediate", Invariant(c.IntermediateSize), "--rotary-pct", Invariant(c.RotaryPct),
                     "--seq-length", Invariant(options.SeqLength), "--batch", Invariant(options.BatchSize), "--steps", Invariant(options.Steps),
                     "--warmup", Invariant(options.WarmupSteps), "--threads", Invariant(options.Threads), "--lora-r", Invariant(options.LoraR),
                     "--lora-alpha", Invariant(options.LoraAlpha), "--lora-dropout", Invariant(options.LoraDropout), "--lr", Invariant(options.LearningRate),
                     "--seed", Invariant(options.Seed),
                 })
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)
                            ?? throw new InvalidOperationException($"Could not start '{python}': install Debian's python3-torch or pass another interpreter.");
        using var registration = cancellationToken.Register(() => process.Kill(entireProcessTree: true));
        var errorTask = process.StandardError.ReadToEndAsync(CancellationToken.None);
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        cancellationToken.ThrowIfCancellationRequested();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"The PyTorch benchmark '{script}' failed with exit code {process.ExitCode}: {errorTask.Result.Trim()} " +
                "(it needs torch importable by that interpreter: apt-get install python3-torch).");
        }

        var line = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[^1];
        using var json = JsonDocument.Parse(line);
        var root = json.RootElement;
        return new FrameworkFigures(
            "pytorch-eager " + root.GetProperty("torch_version").GetString(),
            root.GetProperty("tokens_per_second").GetDouble(),
            root.GetProperty("seconds_per_step").GetDouble(),
            root.GetProperty("peak_rss_mib").GetDouble());
    }

    private static string Invariant(IFormattable value) => value.ToString(null, CultureInfo.InvariantCulture);

    private static string LocateScript()
    {
        foreach (var origin in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var directory = new DirectoryInfo(origin); directory is not null; directory = directory.Parent)
            {
                var candidate = Path.Combine(directory.FullName, "scripts", "bench_train.py");
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        throw new FileNotFoundException("scripts/bench_train.py was not found above the working directory: run from the repository or pass its path.");
    }

    private sealed class StepClock(Action<TrainingLogEntry> report) : IProgress<TrainingLogEntry>
    {
        public void Report(TrainingLogEntry value) => report(value);
    }
}
