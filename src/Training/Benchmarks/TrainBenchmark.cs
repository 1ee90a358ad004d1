using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using FedTune.Core.Adapters;
using FedTune.Core.Configuration;
using FedTune.Training.Data;
using FedTune.Training.Lora;
using FedTune.Training.Modeling;
using FedTune.Training.Trainer;
using TorchSharp;
using static TorchSharp.torch;

namespace FedTune.Training.Benchmarks;

/// <summary>
/// Training speed of the C# trainer against PyTorch eager on the same GPT-NeoX shape and step (CPU). For each shape it
/// builds the model once (random weights, quantized as the recipe says), then alternates: the machine's float32 matmul
/// peak (<see cref="MatmulPeak"/>), <see cref="TrainBenchmarkOptions.Steps"/> steps of
/// <see cref="CausalLmTrainer"/>, then the same steps of <c>scripts/bench_train.py</c>,
/// <see cref="TrainBenchmarkOptions.Repetitions"/> times, so both frameworks see the same machine load. Reports
/// min/median seconds per step, tokens/s, GFLOP/s (<see cref="TrainStepFlops"/>), the fraction of the peak, peak
/// memory and the ratio.
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
            results.Add(RunShape(shape, options, log, cancellationToken));
        }

        return results;
    }

    private static TrainBenchmarkResult RunShape(BenchmarkModelShape shape, TrainBenchmarkOptions options, TextWriter? log, CancellationToken cancellationToken)
    {
        var flops = TrainStepFlops.For(shape.Config, options.BatchSize, options.SeqLength, options.LoraR, options.GradientCheckpointing);
        log?.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"[{shape.Name}] {shape.Source}; batch {options.BatchSize} × {options.SeqLength} tokens, {options.Recipe}, {options.Threads} threads; " +
            $"{options.Repetitions} interleaved repetitions of {options.Steps} steps; {flops.Hardware / 1e9:F1} GFLOP per step " +
            $"({flops.Model / 1e9:F1} without recomputation, {flops.Peer / 1e9:F1} for PyTorch's whole-block recomputation); {FedTune.Core.Processes.NativeHeap.Description ?? "native heap: the C library's default"}; " +
            $"{Runtime.MklCpuDispatch.Prepare()}"));
        var peaks = new List<double>();
        var torchSharpSteps = new List<double>();
        var pyTorchSteps = new List<double>();
        PyTorchRun? lastPyTorch = null;
        double pyTorchPeak = 0;
        using (var session = new TorchSharpSession(shape, options))
        {
            for (int repetition = 1; repetition <= options.Repetitions; repetition++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                peaks.Add(MatmulPeak.MeasureGigaflops());
                var steps = session.TimeSteps(cancellationToken);
                torchSharpSteps.AddRange(steps);
                log?.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{shape.Name}] repetition {repetition}: FP32 matmul peak {peaks[^1]:F1} GFLOP/s; TorchSharp {Seconds(steps)}; RSS {ResidentMiB("VmRSS:"):F0} MiB (peak {ResidentMiB("VmHWM:"):F0})"));
                if (options.PythonExecutable is { } python)
                {
                    lastPyTorch = RunPyTorch(shape, options, python, cancellationToken);
                    pyTorchSteps.AddRange(lastPyTorch.StepSeconds);
                    pyTorchPeak = Math.Max(pyTorchPeak, lastPyTorch.PeakMemoryMiB);
                    log?.WriteLine($"[{shape.Name}] repetition {repetition}: PyTorch {Seconds(lastPyTorch.StepSeconds)} ({lastPyTorch.Blas})");
                }
            }
        }

        double peak = FrameworkFigures.Median(peaks);
        double tokensPerStep = (double)options.BatchSize * options.SeqLength;
        var torchSharp = new FrameworkFigures("torchsharp " + TorchSharpVersion(), torchSharpSteps, tokensPerStep, flops.Hardware, PeakResidentMiB());
        var pyTorch = lastPyTorch is null ? null : new FrameworkFigures(lastPyTorch.Framework, pyTorchSteps, tokensPerStep, flops.Peer, pyTorchPeak);
        var result = new TrainBenchmarkResult(shape.Name, options.SeqLength, options.BatchSize, options.Threads, options.Recipe, peak, torchSharp, pyTorch);
        log?.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{shape.Name}] TorchSharp {Describe(torchSharp)}; {result.PeakFraction:P0} of the measured peak (median {peak:F1} GFLOP/s)"));
        if (pyTorch is not null)
            log?.WriteLine($"[{shape.Name}] PyTorch {Describe(pyTorch)}");
        if (result.Ratio is { } ratio)
            log?.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{shape.Name}] TorchSharp is {ratio:F2}x PyTorch (median step against median step)"));
        return result;
    }

    private static string Seconds(IEnumerable<double> steps) =>
        string.Join(", ", steps.Select(s => s.ToString("F2", CultureInfo.InvariantCulture))) + " s/step";

    private static string Describe(FrameworkFigures f) =>
        string.Create(CultureInfo.InvariantCulture,
            $"median {f.MedianSecondsPerStep:F2} s/step (min {f.MinSecondsPerStep:F2}), {f.TokensPerSecond:F0} tokens/s, {f.Gigaflops:F1} GFLOP/s, peak RSS {f.PeakMemoryMiB:F0} MiB");

    private static string TorchSharpVersion() =>
        typeof(torch).Assembly.GetName().Version?.ToString(3) ?? "?";

    /// <summary>This process's peak resident set (VmHWM), the figure the PyTorch script reports for itself.</summary>
    private static double PeakResidentMiB() => ResidentMiB("VmHWM:");

    /// <summary>A resident-set line of /proc/self/status (VmRSS: now, VmHWM: peak) in MiB; the peak working set elsewhere.</summary>
    private static double ResidentMiB(string field)
    {
        var line = File.Exists("/proc/self/status")
            ? File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith(field, StringComparison.Ordinal))
            : null;
        if (line is null)
        {
            using var process = Process.GetCurrentProcess();
            return process.PeakWorkingSet64 / 1048576.0;
        }

        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0;
    }

    /// <summary>The C# side: one model (built once) trained by a fresh trainer each repetition.</summary>
    private sealed class TorchSharpSession : IDisposable
    {
        private readonly GptNeoXForCausalLM _model;
        private readonly List<TokenizedExample> _examples;
        private readonly TrainBenchmarkOptions _options;
        private readonly string _name;

        public TorchSharpSession(BenchmarkModelShape shape, TrainBenchmarkOptions options)
        {
            _options = options;
            _name = shape.Name;
            var config = shape.Config with { MaxPositionEmbeddings = Math.Max(shape.Config.MaxPositionEmbeddings, options.SeqLength) };
            _model = new GptNeoXForCausalLM(config, CPU, ScalarType.Float32, options.Quantization);
            _model.InitializeRandom(options.Seed);
            _model.GradientCheckpointing = options.GradientCheckpointing;
            LoraInjector.Apply(_model, new LoraAdapterConfig { R = options.LoraR, LoraAlpha = options.LoraAlpha, LoraDropout = options.LoraDropout }, options.Seed);
            var random = new Random(options.Seed);
            _examples = Enumerable.Range(0, options.BatchSize)
                .Select(_ => TokenizedExample.FullSequence(Enumerable.Range(0, options.SeqLength).Select(_ => random.Next(config.VocabSize)).ToArray()))
                .ToList();
        }

        /// <summary>Runs the warm-up and timed steps; returns each timed step's seconds.</summary>
        public List<double> TimeSteps(CancellationToken cancellationToken)
        {
            var recipe = new TrainingRecipe
            {
                BaseModel = _name,
                Quantization = _options.Quantization,
                GradientCheckpointing = _options.GradientCheckpointing,
                LearningRate = _options.LearningRate,
                BatchSize = _options.BatchSize,
                MaxSteps = _options.WarmupSteps + _options.Steps,
                LrSchedulerType = LrSchedulerType.Cosine,
                LoggingSteps = 1,
            };
            var run = TrainerRun.For(recipe, _options.LearningRate, _examples.Count, _options.Seed);
            var stepEnds = new List<double>();
            var stopwatch = Stopwatch.StartNew();
            var progress = new StepClock(_ => stepEnds.Add(stopwatch.Elapsed.TotalSeconds));
            new CausalLmTrainer(_model, recipe, run, new CausalLmBatchCollator(0)).Train(_examples, progress, cancellationToken);
            return Enumerable.Range(_options.WarmupSteps, _options.Steps)
                .Select(i => i == 0 ? stepEnds[0] : stepEnds[i] - stepEnds[i - 1])
                .ToList();
        }

        public void Dispose() => _model.Dispose();
    }

    private sealed record PyTorchRun(string Framework, IReadOnlyList<double> StepSeconds, double PeakMemoryMiB, string Blas);

    private static PyTorchRun RunPyTorch(BenchmarkModelShape shape, TrainBenchmarkOptions options, string python, CancellationToken cancellationToken)
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
                 }.Concat(options.GradientCheckpointing ? ["--checkpointing"] : Array.Empty<string>())
                  .Concat(options.Quantization == BaseQuantization.Nf4 ? ["--nf4"] : Array.Empty<string>()))
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
        return new PyTorchRun(
            "pytorch-eager " + root.GetProperty("torch_version").GetString(),
            root.GetProperty("step_seconds").EnumerateArray().Select(e => e.GetDouble()).ToList(),
            root.GetProperty("peak_rss_mib").GetDouble(),
            "BLAS " + root.GetProperty("blas").GetString());
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
