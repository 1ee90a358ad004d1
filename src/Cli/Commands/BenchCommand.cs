using System.CommandLine;
using System.Globalization;
using FedTune.Core.Benchmarks;
using FedTune.Training.Benchmarks;

namespace FedTune.Cli.Commands;

/// <summary>`fedtune bench aggregate|train`: the measured benchmarks (ratios against a baseline run side by side).</summary>
internal static class BenchCommand
{
    public static Command Create() => new("bench", "Benchmarks that print measured figures side by side with a baseline (PyTorch, memcpy).")
    {
        Aggregate(),
        Train(),
        SecureAggregation(),
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

    private static Command Train()
    {
        var shape = new Option<string>("--model") { Description = "Model shape: pythia-70m, embedded, or all.", DefaultValueFactory = _ => "all" };
        var seq = new Option<int>("--seq-length") { Description = "Tokens per sequence.", DefaultValueFactory = _ => 512 };
        var batch = new Option<int>("--batch-size") { Description = "Sequences per step.", DefaultValueFactory = _ => 2 };
        var steps = new Option<int>("--steps") { Description = "Timed steps (after one warm-up step).", DefaultValueFactory = _ => 3 };
        var threads = new Option<int>("--threads") { Description = "Intra-op threads for both frameworks.", DefaultValueFactory = _ => Environment.ProcessorCount };
        var noPyTorch = new Option<bool>("--no-pytorch") { Description = "Skip the PyTorch comparison." };
        var command = new Command("train", "Training tokens/s and peak memory of the C# trainer against PyTorch eager on the same GPT-NeoX + LoRA step (CPU).")
        {
            shape, seq, batch, steps, threads, noPyTorch,
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
                Threads = parse.GetValue(threads),
            };
            if (parse.GetValue(noPyTorch)) options = options with { PythonExecutable = null };
            try
            {
                foreach (var r in TrainBenchmark.Run(options, Console.Out, cancellationToken))
                {
                    var ratio = r.Ratio is { } x ? string.Create(CultureInfo.InvariantCulture, $"{x:F2}x PyTorch") : "no PyTorch figure";
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{r.Model}: TorchSharp {r.TorchSharp.TokensPerSecond:F0} tokens/s, PyTorch {(r.PyTorch is { } p ? p.TokensPerSecond.ToString("F0", CultureInfo.InvariantCulture) : "-")} tokens/s: {ratio}"));
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
