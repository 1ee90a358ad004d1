using System.CommandLine;
using System.Globalization;
using FedTune.Cli.Bench;
using FedTune.Orchestration.Plans;
using FedTune.Core.Benchmarks;
using FedTune.Training.Benchmarks;

namespace FedTune.Cli.Commands;

/// <summary>`fedtune bench aggregate|train|secagg|orchestrator`: the measured benchmarks (ratios against a baseline run side by side).</summary>
internal static class BenchCommand
{
    public static Command Create() => new("bench", "Benchmarks that print measured figures side by side with a baseline (PyTorch, memcpy).")
    {
        Aggregate(),
        AggregateRound(),
        Train(),
        SecureAggregation(),
        Orchestrator(),
    };

    private static Command SecureAggregation()
    {
        var hospitals = new Option<string>("--hospitals") { Description = "Comma-separated federation sizes.", DefaultValueFactory = _ => "3,10,100" };
        var parameters = new Option<int>("--params") { Description = "Values per update (pythia-70m r16 query_key_value: 196608).", DefaultValueFactory = _ => 196_608 };
        var neighbours = new Option<int?>("--neighbours") { Description = "Masking neighbours per hospital (default: every pair up to 10 hospitals, 2*ceil(log2 n) above)." };
        var command = new Command("secagg", "Bytes and seconds of one securely aggregated round (real keys, shares, masks, one dropout, unmasking).")
        {
            hospitals, parameters, neighbours,
        };
        command.SetAction(parse =>
        {
            var sizes = parse.GetValue(hospitals)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(t => int.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : -1).ToArray();
            if (sizes.Any(n => n < 3 || n > 255) || parse.GetValue(parameters) < 1)
            {
                Console.Error.WriteLine("fedtune bench secagg: --hospitals takes sizes from 3 to 255 (e.g. 3,10,100) and --params at least 1.");
                return 2;
            }

            SecureAggregationBenchmark.Run(sizes, parse.GetValue(parameters), parse.GetValue(neighbours), Console.Out);
            return 0;
        });
        return command;
    }

    private static Command Orchestrator()
    {
        var hospitals = new Option<int>("--hospitals") { Description = "Fake hospitals in the federation (all take part in every round).", DefaultValueFactory = _ => 100 };
        var rounds = new Option<int>("--rounds") { Description = "Rounds to run.", DefaultValueFactory = _ => 2 };
        var delay = new Option<double>("--delay") { Description = "Seconds each fake hospital waits after seeing its task before it uploads.", DefaultValueFactory = _ => 5 };
        var batch = new Option<int>("--batch-size") { Description = "Hospitals per task-write and upload-check activity.", DefaultValueFactory = _ => FederationPlan.DefaultBatchSize };
        var notices = new Option<string>("--notices")
        {
            Description = "Who raises upload notices: watcher (the local host's upload watcher, as in fedtune simulate) or direct (each manifest write, as Event Grid does in Azure).",
            DefaultValueFactory = _ => "watcher",
        };
        notices.AcceptOnlyFromAmong("watcher", "direct");
        var command = new Command("orchestrator",
            "Per-round overhead and per-hospital cost of the real orchestrator (local host, private Azurite) with N fake hospitals uploading valid adapters after a set delay.")
        {
            hospitals, rounds, delay, batch, notices,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            int n = parse.GetValue(hospitals), r = parse.GetValue(rounds), b = parse.GetValue(batch);
            double d = parse.GetValue(delay);
            if (n < 1 || r < 1 || b < 1 || d < 0)
            {
                await Console.Error.WriteLineAsync("fedtune bench orchestrator: --hospitals, --rounds and --batch-size must be at least 1 and --delay not negative.")
                    .ConfigureAwait(false);
                return 2;
            }
            try
            {
                await OrchestratorBenchmark.RunAsync(new OrchestratorBenchmarkOptions
                {
                    Hospitals = n, Rounds = r, Delay = TimeSpan.FromSeconds(d), BatchSize = b,
                    Notices = parse.GetValue(notices) == "direct" ? BenchNotices.Direct : BenchNotices.Watcher,
                },
                    Console.Out, cancellationToken).ConfigureAwait(false);
                return 0;
            }
            catch (InvalidOperationException e)
            {
                await Console.Error.WriteLineAsync($"fedtune bench orchestrator: {e.Message}{CliErrorLog.Write("bench orchestrator", e)}" + Environment.NewLine +
                    "Fix: the benchmark's fake hospitals or the orchestrator misbehaved; the reason above names the round and the hospitals left out.")
                    .ConfigureAwait(false);
                return 1;
            }
        });
        return command;
    }

    private static Command Aggregate()
    {
        var clients = new Option<int>("--clients") { Description = "Updates averaged per round (K).", DefaultValueFactory = _ => 10 };
        var parameters = new Option<long>("--params") { Description = "Parameters per update (P).", DefaultValueFactory = _ => 1_000_000 };
        var repetitions = new Option<int>("--repetitions") { Description = "Repetitions per method (the best counts).", DefaultValueFactory = _ => 5 };
        var noPyTorch = new Option<bool>("--no-pytorch") { Description = "Skip the PyTorch comparison." };
        var command = new Command("aggregate", "GB/s of the streaming FedAvg over K updates of P parameters, against memcpy, a naive loop and PyTorch.")
        {
            clients, parameters, repetitions, noPyTorch,
        };
        command.SetAction(parse =>
        {
            int k = parse.GetValue(clients);
            long p = parse.GetValue(parameters);
            if (k < 1 || p < 1)
            {
                Console.Error.WriteLine("fedtune bench aggregate: --clients and --params must be at least 1.");
                return 2;
            }
            var options = new AggregationBenchmarkOptions { Repetitions = Math.Max(1, parse.GetValue(repetitions)) };
            if (parse.GetValue(noPyTorch)) options = options with { Python = null };
            AggregationBenchmark.Run(k, p, Console.Out, options);
            return 0;
        });
        return command;
    }

    private static Command AggregateRound()
    {
        var hospitals = new Option<int>("--hospitals") { Description = "Hospitals per round, each a distinct update file (128 x 786 KB = 101 MB, three times a 32 MiB L3).", DefaultValueFactory = _ => 128 };
        var rank = new Option<int>("--rank") { Description = "LoRA rank of the pythia-70m-shaped adapter (r 16: 196,608 values).", DefaultValueFactory = _ => 16 };
        var repetitions = new Option<int>("--repetitions") { Description = "Interleaved repetitions (memcpy, then each round variant); min and median are reported.", DefaultValueFactory = _ => 7 };
        var command = new Command("aggregate-round",
            "GB/s of the aggregation AggregateRound runs (SHA-256 check, validation, FedAvg) over update files larger than the cache, interleaved with memcpy.")
        {
            hospitals, rank, repetitions,
        };
        command.SetAction(parse =>
        {
            int n = parse.GetValue(hospitals), r = parse.GetValue(rank), reps = parse.GetValue(repetitions);
            if (n < 1 || r < 1 || reps < 1)
            {
                Console.Error.WriteLine("fedtune bench aggregate-round: --hospitals, --rank and --repetitions must be at least 1.");
                return 2;
            }

            return AggregationRoundBenchmark.Run(new AggregationRoundBenchmarkOptions { Hospitals = n, Rank = r, Repetitions = reps }, Console.Out);
        });
        return command;
    }

    private static Command Train()
    {
        var shape = new Option<string>("--model") { Description = "Model shape: pythia-70m (from ../shared/models/pythia-70m/config.json), embedded, or all.", DefaultValueFactory = _ => "pythia-70m" };
        var seq = new Option<int>("--seq-length") { Description = "Tokens per sequence.", DefaultValueFactory = _ => 512 };
        var batch = new Option<int>("--batch-size") { Description = "Sequences per step.", DefaultValueFactory = _ => 2 };
        var steps = new Option<int>("--steps") { Description = "Timed steps per repetition (after one warm-up step).", DefaultValueFactory = _ => 2 };
        var repetitions = new Option<int>("--repetitions") { Description = "Interleaved repetitions (C#, then PyTorch); min and median are reported.", DefaultValueFactory = _ => 3 };
        var fp32 = new Option<bool>("--fp32") { Description = "Keep the base weights in float32 instead of the seed's NF4." };
        var noCheckpointing = new Option<bool>("--no-checkpointing") { Description = "Keep activations instead of the seed's gradient checkpointing." };
        var threads = new Option<int>("--threads") { Description = "Intra-op threads for both frameworks.", DefaultValueFactory = _ => Environment.ProcessorCount };
        var noPyTorch = new Option<bool>("--no-pytorch") { Description = "Skip the PyTorch comparison." };
        var command = new Command("train", "Seconds per step, GFLOP/s against the measured matmul peak and peak memory of the C# trainer, interleaved with PyTorch eager on the same GPT-NeoX + LoRA step (CPU).")
        {
            shape, seq, batch, steps, repetitions, threads, fp32, noCheckpointing, noPyTorch,
        };
        command.SetAction((parse, cancellationToken) =>
        {
            IReadOnlyList<BenchmarkModelShape> shapes = parse.GetValue(shape) switch
            {
                "pythia-70m" => [BenchmarkModelShape.Pythia70m],
                "embedded" => [BenchmarkModelShape.EmbeddedSmall],
                "all" => [BenchmarkModelShape.Pythia70m, BenchmarkModelShape.EmbeddedSmall],
                var other => [],
            };
            if (shapes.Count == 0)
            {
                Console.Error.WriteLine($"fedtune bench train: --model '{parse.GetValue(shape)}' is not known. Fix: use pythia-70m, embedded or all.");
                return Task.FromResult(2);
            }
            var options = new TrainBenchmarkOptions
            {
                Shapes = shapes,
                SeqLength = parse.GetValue(seq),
                BatchSize = parse.GetValue(batch),
                Steps = parse.GetValue(steps),
                Repetitions = parse.GetValue(repetitions),
                Threads = parse.GetValue(threads),
                Quantization = parse.GetValue(fp32) ? Core.Configuration.BaseQuantization.None : Core.Configuration.BaseQuantization.Nf4,
                GradientCheckpointing = !parse.GetValue(noCheckpointing),
            };
            if (parse.GetValue(noPyTorch)) options = options with { PythonExecutable = null };
            try
            {
                foreach (var r in TrainBenchmark.Run(options, Console.Out, cancellationToken))
                {
                    var ratio = r.Ratio is { } x ? string.Create(CultureInfo.InvariantCulture, $"{x:F2}x PyTorch") : "no PyTorch figure";
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{r.Model} ({r.Recipe}): TorchSharp {r.TorchSharp.MedianSecondsPerStep:F2} s/step, {r.TorchSharp.Gigaflops:F0} GFLOP/s = {r.PeakFraction:P0} of the measured {r.PeakGigaflops:F0}, peak RSS {r.TorchSharp.PeakMemoryMiB:F0} MiB; " +
                        $"PyTorch {(r.PyTorch is { } p ? p.MedianSecondsPerStep.ToString("F2", CultureInfo.InvariantCulture) : "-")} s/step: {ratio}"));
                }
                return Task.FromResult(0);
            }
            catch (ArgumentException e)
            {
                Console.Error.WriteLine("fedtune bench train: " + e.Message);
                return Task.FromResult(2);
            }
        });
        return command;
    }
}
