using System.Globalization;
using FedTune.Core.Benchmarks;

// `aggregate [clients] [params]` runs the side-by-side aggregation benchmark (GB/s and ratios, PyTorch included
// when /usr/bin/python3 has torch); anything else goes to BenchmarkDotNet (e.g. --filter *Aggregation*).
if (args.Length > 0 && args[0] == "aggregate")
{
    var clients = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 10;
    var parameters = args.Length > 2 ? long.Parse(args[2], CultureInfo.InvariantCulture) : 16_000_000;
    AggregationBenchmark.Run(clients, parameters, Console.Out);
    return;
}

BenchmarkDotNet.Running.BenchmarkSwitcher.FromAssembly(typeof(FedTune.Benchmarks.AggregationBenchmarks).Assembly).Run(args);
