using System.Diagnostics;
using System.Globalization;
using System.Numerics.Tensors;
using System.Text.Json;
using FedTune.Core.Adapters;
using FedTune.Core.Aggregation;
using FedTune.Core.Configuration;

namespace FedTune.Core.Benchmarks;

/// <summary>One measured way of averaging K updates of P parameters.</summary>
/// <param name="Name">What was measured.</param>
/// <param name="GigabytesPerSecond">Update bytes averaged per second (K·P·4 bytes / best time), in GB/s (10⁹).</param>
/// <param name="BestSeconds">Best of the repetitions.</param>
/// <param name="Note">Why it was skipped, or extra detail.</param>
public sealed record BenchmarkLine(string Name, double GigabytesPerSecond, double BestSeconds, string? Note = null);

/// <summary>All lines of one run and the ratios the issue asks for.</summary>
public sealed record AggregationBenchmarkReport(int Clients, long Parameters, IReadOnlyList<BenchmarkLine> Lines)
{
    public BenchmarkLine? Find(string name) => Lines.FirstOrDefault(l => l.Name == name);
}

/// <summary>Options for <see cref="AggregationBenchmark.Run"/>.</summary>
public sealed record AggregationBenchmarkOptions
{
    /// <summary>Fewest repetitions per method (more run until a second has passed); the best time counts.</summary>
    public int Repetitions { get; init; } = 5;

    /// <summary>Python with torch (Debian's python3-torch lives at /usr/bin/python3); null skips PyTorch.</summary>
    public string? Python { get; init; } = Environment.GetEnvironmentVariable("FEDTUNE_PYTHON") ?? "/usr/bin/python3";

    /// <summary>The PyTorch script; null searches for scripts/bench-aggregate.py upwards from the current and base folders.</summary>
    public string? PythonScript { get; init; }

    /// <summary>Also time a whole round (validation with SHA-256 + streaming FedAvg) over wire-format updates.</summary>
    public bool IncludeFullRound { get; init; } = true;
}

/// <summary>
/// The <c>fedtune bench aggregate</c> benchmark: GB/s of update bytes averaged by our streaming FedAvg, side by
/// side with a naive scalar loop, a memcpy of the same bytes (the practical limit) and PyTorch's
/// <c>acc.add_(u, alpha=w)</c>. Only a few distinct update buffers exist; they are reused for all K clients so
/// memory stays O(model) like the real aggregator. Not a unit test: it prints measured numbers.
/// </summary>
public static class AggregationBenchmark
{
    public const string Memcpy = "memcpy (practical limit)";
    public const string Kernel = "streaming FedAvg kernel (grouped, chunked FMA)";
    public const string Unblocked = "one update at a time (TensorPrimitives FMA)";
    public const string StreamingCombine = "streaming FedAvg from wire bytes (read + FMA)";
    public const string FullRound = "full round: validate (SHA-256, norm) + FedAvg";
    public const string Naive = "naive scalar loop";
    public const string PyTorch = "PyTorch acc.add_(u, alpha=w)";

    private const int DistinctBuffers = 3;

    /// <summary>Bytes of distinct wire-format updates a full round reads, at least (four times a 32 MiB L3).</summary>
    private const double OutOfCacheBytes = 128.0 * 1024 * 1024;

    public static AggregationBenchmarkReport Run(int clients, long parameters, TextWriter output, AggregationBenchmarkOptions? options = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(clients);
        ArgumentOutOfRangeException.ThrowIfLessThan(parameters, 1024);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(parameters, (long)Array.MaxLength);
        ArgumentNullException.ThrowIfNull(output);
        options ??= new AggregationBenchmarkOptions();
        var p = (int)parameters;
        var bytes = (double)clients * p * sizeof(float);
        output.WriteLine($"Aggregating {clients} updates of {p:N0} parameters ({bytes / 1e9:F3} GB of update bytes), best of at least {options.Repetitions} runs and 1 s per method, {Environment.ProcessorCount} logical CPUs.");

        var random = new Random(7);
        var updates = Enumerable.Range(0, Math.Min(clients, DistinctBuffers))
            .Select(_ => Enumerable.Range(0, p).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray()).ToArray();
        var weights = Enumerable.Range(0, clients).Select(i => (float)(1.0 / clients)).ToArray();
        var perClient = Enumerable.Range(0, clients).Select(i => updates[i % updates.Length]).ToArray();
        var accumulator = new float[p];
        var copyTarget = new float[p];

        var lines = new List<BenchmarkLine>
        {
            Measure(Memcpy, bytes, options.Repetitions, () =>
            {
                for (var i = 0; i < clients; i++)
                {
                    updates[i % updates.Length].AsSpan().CopyTo(copyTarget);
                }
            }),
            Measure(Kernel, bytes, options.Repetitions, () =>
            {
                Array.Clear(accumulator);
                WeightedMeanCombiner.AccumulateBlocked(perClient, weights, accumulator);
            }),
            Measure(Unblocked, bytes, options.Repetitions, () =>
            {
                Array.Clear(accumulator);
                for (var i = 0; i < clients; i++)
                {
                    TensorPrimitives.MultiplyAdd(updates[i % updates.Length], weights[i], accumulator, accumulator);
                }
            }),
            Measure(Naive, bytes, options.Repetitions, () =>
            {
                Array.Clear(accumulator);
                for (var i = 0; i < clients; i++)
                {
                    NaiveAccumulate(updates[i % updates.Length], weights[i], accumulator);
                }
            }),
        };

        lines.AddRange(MeasureWirePaths(clients, p, bytes, options));
        updates = null;
        perClient = null;
        lines.Add(MeasurePyTorch(clients, p, bytes, options));
        Print(new AggregationBenchmarkReport(clients, parameters, lines), output);
        return new AggregationBenchmarkReport(clients, parameters, lines);
    }

    /// <summary>acc[j] += w · u[j], one element at a time: the baseline a straightforward implementation gets.</summary>
    public static void NaiveAccumulate(float[] update, float weight, float[] accumulator)
    {
        ArgumentNullException.ThrowIfNull(update);
        ArgumentNullException.ThrowIfNull(accumulator);
        for (var j = 0; j < update.Length; j++)
        {
            accumulator[j] += weight * update[j];
        }
    }

    private static IEnumerable<BenchmarkLine> MeasureWirePaths(int clients, int p, double bytes, AggregationBenchmarkOptions options)
    {
        var r = 16;
        var inFeatures = Math.Max(1, p / (2 * r));
        var config = new LoraAdapterConfig { R = r, LoraAlpha = 2 * r };
        var random = new Random(11);
        LoraAdapter Make() => new(config,
        [
            new LoraTensor(PeftKeys.GptNeoXLoraA(0), [r, inFeatures], Enumerable.Range(0, r * inFeatures).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray()),
            new LoraTensor(PeftKeys.GptNeoXLoraB(0), [inFeatures, r], Enumerable.Range(0, r * inFeatures).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray()),
        ]);
        var global = Make();
        // Enough distinct uploads that one round reads more bytes than the last-level cache holds (as a real round
        // over downloaded blobs does), however small P is.
        var distinct = Math.Min(clients, Math.Max(DistinctBuffers, (int)Math.Ceiling(OutOfCacheBytes / (p * (double)sizeof(float)))));
        var wires = Enumerable.Range(0, distinct).Select(_ => AdapterWireFormat.ToBytes(Make())).ToArray();
        var hashes = wires.Select(w => AdapterHash.Sha256(w)).ToArray();
        var wireBytes = (double)clients * global.ParameterCount * sizeof(float);
        var updates = Enumerable.Range(0, clients)
            .Select(i => ClientUpdate.FromWire($"client-{i}", 100 + i, () => new MemoryStream(wires[i % wires.Length], writable: false), hashes[i % wires.Length]))
            .ToArray();
        var layout = new AdapterLayout(global);
        var flat = layout.Flatten(global);
        var accepted = updates.Select(u => (u, new UpdateValidationResult(u.ClientId, UpdateVerdict.Accepted, null, 1, u.ExampleCount))).ToList();
        var input = new AggregationInput(global, layout, flat, accepted, clients);
        var combiner = new WeightedMeanCombiner();
        yield return Measure(StreamingCombine, wireBytes, options.Repetitions, () => combiner.Combine(input));

        if (options.IncludeFullRound)
        {
            var aggregator = new StreamingAggregator(AggregationStrategy.Create(StrategyConfig.For(StrategyName.FedAvg)), new UpdateValidator(new UpdateValidationConfig { MaxNormRatio = 1e9 }))
            {
                ReportLoraProductError = false,
            };
            yield return Measure(FullRound, wireBytes, Math.Min(options.Repetitions, 3), () => aggregator.Aggregate(global, updates, new RoundContext(1, clients, clients, 1)));
        }
    }

    private static BenchmarkLine MeasurePyTorch(int clients, int p, double bytes, AggregationBenchmarkOptions options)
    {
        var script = options.PythonScript ?? FindScript();
        if (options.Python is null || !File.Exists(options.Python))
        {
            return new BenchmarkLine(PyTorch, double.NaN, double.NaN, $"skipped: no Python at '{options.Python}' (install Debian's python3-torch: sudo apt-get install python3-torch)");
        }

        if (script is null)
        {
            return new BenchmarkLine(PyTorch, double.NaN, double.NaN, "skipped: scripts/bench-aggregate.py not found (run from the repository)");
        }

        var start = new ProcessStartInfo(options.Python)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { script, "--clients", clients.ToString(CultureInfo.InvariantCulture), "--params", p.ToString(CultureInfo.InvariantCulture), "--repetitions", options.Repetitions.ToString(CultureInfo.InvariantCulture) })
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(10)))
        {
            process.Kill(entireProcessTree: true);
            return new BenchmarkLine(PyTorch, double.NaN, double.NaN, "skipped: the PyTorch script ran over 10 minutes");
        }

        var last = stdout.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault() ?? string.Empty;
        try
        {
            using var json = JsonDocument.Parse(last);
            var root = json.RootElement;
            if (root.TryGetProperty("skipped", out var reason))
            {
                return new BenchmarkLine(PyTorch, double.NaN, double.NaN, $"skipped: {reason.GetString()}");
            }

            var seconds = root.GetProperty("best_seconds").GetDouble();
            var note = $"torch {root.GetProperty("torch").GetString()}, {root.GetProperty("threads").GetInt32()} threads";
            return new BenchmarkLine(PyTorch, bytes / seconds / 1e9, seconds, note);
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return new BenchmarkLine(PyTorch, double.NaN, double.NaN, $"skipped: the script failed (exit {process.ExitCode}): {stderr.Result.Trim().Split('\n').LastOrDefault()}");
        }
    }

    private static string? FindScript()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var folder = new DirectoryInfo(start); folder is not null; folder = folder.Parent)
            {
                var candidate = Path.Combine(folder.FullName, "scripts", "bench-aggregate.py");
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        return null;
    }

    /// <summary>Best time over at least <paramref name="repetitions"/> runs and at least one second of running (200 runs at most).</summary>
    private static BenchmarkLine Measure(string name, double bytes, int repetitions, Action action)
    {
        action(); // warm-up: JIT, page faults
        var best = double.MaxValue;
        var total = Stopwatch.StartNew();
        for (var i = 0; i < 200 && (i < repetitions || total.Elapsed < TimeSpan.FromSeconds(1)); i++)
        {
            var watch = Stopwatch.StartNew();
            action();
            best = Math.Min(best, watch.Elapsed.TotalSeconds);
        }

        return new BenchmarkLine(name, bytes / best / 1e9, best);
    }

    private static void Print(AggregationBenchmarkReport report, TextWriter output)
    {
        var memcpy = report.Find(Memcpy)!.GigabytesPerSecond;
        var torch = report.Find(PyTorch)?.GigabytesPerSecond ?? double.NaN;
        output.WriteLine($"{"method",-52} {"GB/s",8} {"best s",9} {"vs memcpy",10} {"vs PyTorch",11}");
        foreach (var line in report.Lines)
        {
            if (double.IsNaN(line.GigabytesPerSecond))
            {
                output.WriteLine($"{line.Name,-52} {"-",8} {"-",9} {"-",10} {"-",11}  {line.Note}");
                continue;
            }

            var vsTorch = double.IsNaN(torch) ? "-" : (line.GigabytesPerSecond / torch).ToString("F2", CultureInfo.InvariantCulture);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{line.Name,-52} {line.GigabytesPerSecond,8:F2} {line.BestSeconds,9:F4} {line.GigabytesPerSecond / memcpy,10:F2} {vsTorch,11}  {line.Note}"));
        }
    }
}
