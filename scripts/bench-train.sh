#!/usr/bin/env bash
# Training speed, fairly: the C# trainer (TorchSharp) interleaved with PyTorch eager on the same GPT-NeoX + LoRA step,
# on CPU, at the mission shape (../shared/models/pythia-70m/config.json) with the seed's NF4 + gradient checkpointing.
# Usage: scripts/bench-train.sh [fedtune bench train options: --steps 2 --repetitions 3 --threads N --fp32 --no-checkpointing ...]
# The PyTorch side is scripts/bench_train.py under /usr/bin/python3 (Debian's python3-torch 1.13). Debian's torch calls
# whatever libblas.so.3 is installed; the reference BLAS there is ~20x slower than any tuned one, so this script
# installs OpenBLAS (libopenblas0-pthread, which takes over the libblas.so.3 alternative) and the PyTorch side
# prints the BLAS library it actually loaded.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
missing=()
dpkg -s python3-torch >/dev/null 2>&1 || missing+=(python3-torch)
dpkg -s libopenblas0-pthread >/dev/null 2>&1 || missing+=(libopenblas0-pthread)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "bench-train: ${missing[*]} missing. Fix: sudo apt-get install -y ${missing[*]}" >&2
    exit 2
  fi
  echo "bench-train: installing ${missing[*]} (apt-get)" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2
fi
echo "bench-train: libblas.so.3 -> $(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3)" >&2
cd "$root"
exec "$root/fedtune" bench train "$@"
