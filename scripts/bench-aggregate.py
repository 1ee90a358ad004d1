#!/usr/bin/env python3
"""PyTorch side of `fedtune bench aggregate`: the same weighted sum of K updates of P float32 parameters.

Prints one JSON line: {"best_seconds": ..., "gbps": ..., "torch": ..., "threads": ...}, or {"skipped": reason}
when torch is missing (install Debian's python3-torch and run with /usr/bin/python3).
"""
import argparse
import json
import time


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, required=True)
    parser.add_argument("--params", type=int, required=True)
    parser.add_argument("--repetitions", type=int, default=5)
    args = parser.parse_args()
    try:
        import torch
    except ImportError as error:
        print(json.dumps({"skipped": f"torch is not installed ({error}); sudo apt-get install python3-torch"}))
        return

    generator = torch.Generator().manual_seed(7)
    # The same few distinct buffers reused for all K clients, like the C# side.
    updates = [torch.rand(args.params, generator=generator, dtype=torch.float32) - 0.5 for _ in range(min(args.clients, 3))]
    weight = 1.0 / args.clients
    accumulator = torch.zeros(args.params, dtype=torch.float32)

    def run():
        accumulator.zero_()
        for i in range(args.clients):
            accumulator.add_(updates[i % len(updates)], alpha=weight)

    run()
    # Same rule as the C# side: at least `repetitions` runs and at least one second, at most 200 runs.
    best = float("inf")
    began = time.perf_counter()
    runs = 0
    while runs < 200 and (runs < args.repetitions or time.perf_counter() - began < 1.0):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
        runs += 1
    total = args.clients * args.params * 4
    print(json.dumps({"best_seconds": best, "gbps": total / best / 1e9, "torch": torch.__version__, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
