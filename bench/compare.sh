#!/usr/bin/env bash
# Side by side on this machine: the same fits in PyTorch (Debian python3-torch, CPU, float64, 2 threads,
# a plain zero_grad/backward/step loop) and in the engine, measured in turn per configuration;
# prints µs per step, the ratio, the floor (one pass reading x and y) and how close each step gets to it.
#   bench/compare.sh [--quick]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
/usr/bin/python3 -c "import torch" || { echo "needs Debian's python3-torch (apt-get install python3-torch)" >&2; exit 1; }
dotnet run -c Release --project "$here/Engine.Bench" -- table --torch-script "$here/torch_reference.py" "$@"
