using System.Diagnostics;
using System.Globalization;
using FedTune.Core.Adapters;
using FedTune.Core.Aggregation;
using FedTune.Core.Protocol;
using FedTune.Orchestration.Aggregation;
using FedTune.Orchestration.Plans;

namespace FedTune.Cli.Bench;

/// <summary>Options of <see cref="AggregationRoundBenchmark"/>.</summary>
internal sealed record AggregationRoundBenchmarkOptions
{
    /// <summary>Hospitals whose updates one round averages (each a distinct file).</summary>
    public int Hospitals { get; init; } = 128;

    /// <summary>LoRA rank of the pythia-70m-shaped adapter (query_key_value of 6 layers; r 16 = 196,608 values).</summary>
    public int Rank { get; init; } = 16;

    /// <summary>Interleaved repetitions (each runs every method once); min and median are reported.</summary>
    public int Repetitions { get; init; } = 7;
}

/// <summary>
/// <c>fedtune bench aggregate-round</c>: the aggregation <c>AggregateRound</c> runs (<see cref="CoreAggregation"/>'s
/// aggregator over downloaded update files, SHA-256 checked against the manifests) on more distinct update bytes
/// than the last-level cache holds, interleaved with a memcpy of the same bytes in every repetition. Checks that the
/// single pass gives exactly the reference path's adapter before it prints anything.
/// </summary>
internal static class AggregationRoundBenchmark
{
    private const string Memcpy = "memcpy of the same bytes (STREAM copy)";
    private const string MemcpyToCache = "memcpy into one update-sized buffer";
    private const string Sha = "SHA-256 of the same bytes (one thread)";
    private const string Checked = "round after the download: validation + FedAvg";
    private const string EndToEnd = "download's local work + round (end to end)";
    private const string Hashing = "round hashing in its pass (hashers beside kernel)";
    private const string Reference = "reference path: validate (SHA-256) all, combine";
    private const string AsRun = "round after the download + LoRA product error";

    public static int Run(AggregationRoundBenchmarkOptions options, TextWriter output)
    {
        var shape = new BaseModelShape { HiddenSize = 512, IntermediateSize = 2048, NumHiddenLayers = 6, VocabSize = 50304 };
        var lora = new LoraAdapterConfig { R = options.Rank, LoraAlpha = 2 * options.Rank, TargetModules = ["query_key_value"] };
        var global = InitialAdapter.Create(shape, lora, seed: 1);
        var folder = Directory.CreateTempSubdirectory("fedtune-bench-round-");
        try
        {
            var random = new Random(7);
            var wires = new byte[options.Hospitals][];
            var updates = new List<ClientUpdate>(options.Hospitals);
            var downloaded = new List<ClientUpdate>(options.Hospitals);
            var contents = new List<(ContentRef Content, string Path)>(options.Hospitals);
            for (var h = 0; h < options.Hospitals; h++)
            {
                var trained = new LoraAdapter(global.Config, global.Tensors.Select(t =>
                    new LoraTensor(t.Name, t.Shape, t.Data.Select(v => v + (float)((random.NextDouble() - 0.5) * 0.01)).ToArray())).ToList());
                wires[h] = AdapterWireFormat.ToBytes(trained);
                var path = Path.Combine(folder.FullName, $"hospital-{h:D4}.safetensors");
                File.WriteAllBytes(path, wires[h]);
                var sha256 = AdapterHash.Sha256(wires[h]);
                updates.Add(ClientUpdate.FromWire($"hospital-{h:D4}", 100 + (h % 17), () => File.OpenRead(path), sha256));
                var downloadPath = Path.Combine(folder.FullName, $"downloaded-{h:D4}.safetensors");
                contents.Add((new ContentRef(new BlobRef("hospital", $"update-{h:D4}.safetensors"), sha256, wires[h].Length), downloadPath));
                downloaded.Add(CoreAggregation.DownloadedUpdate($"hospital-{h:D4}", 100 + (h % 17), downloadPath, sha256));
            }

            var bytes = wires.Sum(w => (double)w.Length);
            var context = new RoundContext(1, options.Hospitals, options.Hospitals, 1);
            var settings = new AggregationSettings { Strategy = "fedavg", MaxNormRatio = 10 };
            var recipe = (shape, lora);
            var single = CoreAggregation.Create(settings, recipe, reportLoraProductError: false);
            var reference = CoreAggregation.Create(settings, recipe, singlePass: false, reportLoraProductError: false);
            var asRun = CoreAggregation.Create(settings, recipe);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{options.Hospitals} hospitals x a pythia-70m-shaped adapter (query_key_value, r {options.Rank}, {global.ParameterCount:N0} values): {bytes / 1e6:F1} MB of distinct update files (L3: {LastLevelCache()}), {Environment.ProcessorCount} logical CPUs, load average {LoadAverage()}."));

            void Download()
            {
                for (var h = 0; h < wires.Length; h++)
                {
                    using var source = new MemoryStream(wires[h], writable: false);
                    using var file = File.Create(contents[h].Path);
                    BlobStore.CopyVerifiedAsync(source, contents[h].Content, file).GetAwaiter().GetResult();
                }
            }

            Download();
            var expected = reference.Aggregate(global, updates, context);
            foreach (var actual in new[] { single.Aggregate(global, updates, context), single.Aggregate(global, downloaded, context) })
            {
                if (actual.AcceptedCount != options.Hospitals || !SameAdapter(expected.Global, actual.Global) || !expected.Validations.SequenceEqual(actual.Validations))
                {
                    output.WriteLine("The single pass did not give the reference path's adapter and validations; no timings printed.");
                    return 1;
                }
            }

            output.WriteLine("The single pass's adapter and validations (with and without the hash in the pass) are identical to the reference path's (bit for bit).");
            // memcpy bandwidth as STREAM's copy measures it: source and destination both larger than the cache. The
            // second line copies into one reused update-sized buffer (destination in cache), a harder bar.
            var copies = wires.Select(w => new byte[w.Length]).ToArray();
            var copyTarget = new byte[wires.Max(w => w.Length)];
            var methods = new (string Name, Action Body)[]
            {
                (Memcpy, () =>
                {
                    for (var h = 0; h < wires.Length; h++)
                    {
                        wires[h].AsSpan().CopyTo(copies[h]);
                    }
                }),
                (MemcpyToCache, () =>
                {
                    foreach (var wire in wires)
                    {
                        wire.AsSpan().CopyTo(copyTarget);
                    }
                }),
                (Sha, () =>
                {
                    foreach (var wire in wires)
                    {
                        System.Security.Cryptography.SHA256.HashData(wire);
                    }
                }),
                (Checked, () => single.Aggregate(global, downloaded, context)),
                (EndToEnd, () =>
                {
                    Download();
                    single.Aggregate(global, downloaded, context);
                }),
                (Hashing, () => single.Aggregate(global, updates, context)),
                (Reference, () => reference.Aggregate(global, updates, context)),
                (AsRun, () => asRun.Aggregate(global, downloaded, context)),
            };
            var seconds = methods.ToDictionary(m => m.Name, _ => new List<double>());
            var cpu = methods.ToDictionary(m => m.Name, _ => new List<double>());
            using var self = Process.GetCurrentProcess();
            foreach (var (_, body) in methods)
            {
                body(); // warm-up: JIT, page cache
            }

            for (var r = 0; r < options.Repetitions; r++)
            {
                foreach (var (name, body) in methods)
                {
                    self.Refresh();
                    var cpuBefore = self.TotalProcessorTime;
                    var watch = Stopwatch.StartNew();
                    body();
                    seconds[name].Add(watch.Elapsed.TotalSeconds);
                    self.Refresh();
                    cpu[name].Add((self.TotalProcessorTime - cpuBefore).TotalSeconds);
                }
            }

            Print(output, bytes, seconds, cpu, options.Repetitions);
            output.WriteLine($"Load average after: {LoadAverage()}.");
            return 0;
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    private static void Print(TextWriter output, double bytes, Dictionary<string, List<double>> seconds, Dictionary<string, List<double>> cpu, int repetitions)
    {
        var memcpy = seconds[Memcpy];
        var toCache = seconds[MemcpyToCache];
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{"method",-52} {"GB/s median",11} {"GB/s best",9} {"s median",9} {"s min",9} {"CPU s median",12}  x memcpy, x memcpy into cache (medians of per-repetition ratios)"));
        foreach (var (name, times) in seconds)
        {
            var ratios = times.Select((t, i) => memcpy[i] / t).ToList();
            var cacheRatios = times.Select((t, i) => toCache[i] / t).ToList();
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{name,-52} {bytes / Median(times) / 1e9,11:F2} {bytes / times.Min() / 1e9,9:F2} {Median(times),9:F4} {times.Min(),9:F4} {Median(cpu[name]),12:F4}  {Median(ratios),5:F2} (min {ratios.Min():F2}, max {ratios.Max():F2}), {Median(cacheRatios):F2}"));
        }

        output.WriteLine($"{repetitions} interleaved repetitions; GB/s counts the update files' bytes once.");
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        var mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    private static bool SameAdapter(LoraAdapter a, LoraAdapter b) =>
        a.Tensors.All(t => t.Data.AsSpan().SequenceEqual(b[t.Name].Data));

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";

    private static string LastLevelCache()
    {
        var caches = new DirectoryInfo("/sys/devices/system/cpu/cpu0/cache");
        var last = caches.Exists
            ? caches.GetDirectories("index*")
                .Where(d => File.Exists(Path.Combine(d.FullName, "level")) && File.Exists(Path.Combine(d.FullName, "size")))
                .MaxBy(d => int.Parse(File.ReadAllText(Path.Combine(d.FullName, "level")).Trim(), CultureInfo.InvariantCulture))
            : null;
        return last is null ? "unknown" : File.ReadAllText(Path.Combine(last.FullName, "size")).Trim();
    }
}
