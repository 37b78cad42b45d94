#!/usr/bin/env bash
# Side by side on this machine: the same fits in PyTorch (Debian python3-torch, CPU, float64, 2 threads,
# a plain zero_grad/backward/step loop) and in the engine; prints µs per step, the ratio and the floor.
#   bench/compare.sh [--quick]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
torch_out="$(mktemp)"
trap 'rm -f "$torch_out"' EXIT
echo "PyTorch..." >&2
/usr/bin/python3 "$here/torch_reference.py" time "$@" > "$torch_out"
echo "engine..." >&2
dotnet run -c Release --project "$here/Engine.Bench" -- table --torch "$torch_out" "$@"
