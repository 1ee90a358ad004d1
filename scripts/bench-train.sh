#!/usr/bin/env bash
# Training speed: the C# trainer (TorchSharp) against PyTorch eager on the same GPT-NeoX + LoRA step, on CPU.
# Usage: scripts/bench-train.sh [--seq-length 512] [--steps 3] [--warmup 1] [--threads N] [--shapes pythia,small] [--no-pytorch]
# Builds a small runner over FedTune.Training.Benchmarks.TrainBenchmark in artifacts/ (ignored) and prints
# tokens/s, seconds per step, peak memory and the TorchSharp/PyTorch ratio per shape, then one JSON line per shape.
# The PyTorch side is scripts/bench_train.py run with /usr/bin/python3 (Debian's python3-torch).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
runner="$root/artifacts/bench-train-runner"
mkdir -p "$runner"
cat > "$runner/BenchTrainRunner.csproj" <<'XML'
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <OutputType>Exe</OutputType>
    <IsPackable>false</IsPackable>
  </PropertyGroup>
  <ItemGroup>
    <ProjectReference Include="../../src/Training/Training.csproj" />
  </ItemGroup>
</Project>
XML
cat > "$runner/Program.cs" <<'CS'
using System.Globalization;
using System.Text.Json;
using FedTune.Training.Benchmarks;

var options = new TrainBenchmarkOptions();
for (int i = 0; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
    options = args[i] switch
    {
        "--seq-length" => options with { SeqLength = int.Parse(Next(), CultureInfo.InvariantCulture) },
        "--steps" => options with { Steps = int.Parse(Next(), CultureInfo.InvariantCulture) },
        "--warmup" => options with { WarmupSteps = int.Parse(Next(), CultureInfo.InvariantCulture) },
        "--threads" => options with { Threads = int.Parse(Next(), CultureInfo.InvariantCulture) },
        "--no-pytorch" => options with { PythonExecutable = null },
        "--shapes" => options with
        {
            Shapes = Next().Split(',').Select(s => s switch
            {
                "pythia" => BenchmarkModelShape.Pythia70m,
                "small" => BenchmarkModelShape.EmbeddedSmall,
                _ => throw new ArgumentException($"Unknown shape '{s}': use pythia and/or small."),
            }).ToList(),
        },
        _ => throw new ArgumentException($"Unknown option '{args[i]}'."),
    };
}

foreach (var result in TrainBenchmark.Run(options, Console.Out))
{
    Console.WriteLine(JsonSerializer.Serialize(result));
}
CS
exec dotnet run -c Release --project "$runner/BenchTrainRunner.csproj" -- "$@"
