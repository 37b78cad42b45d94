#!/usr/bin/env bash
# Goal 2 the way an outsider measures it: the published service, started with its defaults on a fresh data folder, and
# wrk's 8 connections each POSTing the lesson with `Prefer: wait` (bench/wrk/prefer-wait.lua). After a warm-up that is
# not counted (8 connections whatever CONNECTIONS says, so the JIT reaches its final code), one measured run prints
# requests/s, p50 and p99, the service's CPU and its threads' context switches per request (both from /proc), and the
# load average.
# Usage: bench/prefer-wait.sh [measured seconds, default 20] [warm-up seconds, default 15]
# Environment: APP a folder of a published build (else src/Api is published into a temporary folder), SERVICE_ENV
#   environment variables for the service (e.g. "Log__BufferSize=0"), CONNECTIONS wrk's connections (default 8; 1 for
#   one client's round trip),
#   PORT the service's port (a free one by default).
# Two builds or settings compare side by side by alternating runs: publish both beforehand and pass APP (or SERVICE_ENV).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-20}
warm_up=${2:-15}
connections=${CONNECTIONS:-8}
threads=$(( connections < 2 ? connections : 2 ))
command -v wrk >/dev/null || { echo "wrk is not installed (Debian: apt-get install wrk)" >&2; exit 1; }
# shellcheck source=bench/service.sh
source "$root/bench/service.sh"
start_service wait
for _ in $(seq 600); do curl -sf "http://127.0.0.1:$port/health/ready" >/dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$port/health/ready" >/dev/null || { echo "the service did not become ready" >&2; exit 1; }

cd "$root"
url="http://127.0.0.1:$port/v1/fits"
wrk -t2 -c8 -d"${warm_up}s" -s bench/wrk/prefer-wait.lua "$url" >/dev/null
cpu() { awk '{print $14 + $15}' "/proc/$service/stat"; }
switches() { cat /proc/"$service"/task/*/status 2>/dev/null | awk '/ctxt_switches/ { s += $2 } END { print s }'; }
load=$(cut -d' ' -f1-3 /proc/loadavg)
cpu0=$(cpu); switches0=$(switches)
out=$(wrk -t"$threads" -c"$connections" -d"${seconds}s" -s bench/wrk/prefer-wait.lua --latency "$url")
cpu1=$(cpu); switches1=$(switches)
python3 - "$out" "$cpu0" "$cpu1" "$switches0" "$switches1" "$(getconf CLK_TCK)" "$load" "$connections" <<'EOF'
import re, sys, time
out, cpu0, cpu1, sw0, sw1, ticks, load, connections = sys.argv[1:]
requests = int(re.search(r"(\d+) requests in", out).group(1))
rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)
p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
cpu = (float(cpu1) - float(cpu0)) / float(ticks) / requests * 1e6
switches = (int(sw1) - int(sw0)) / requests
print(f"{time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC, {connections} connections with Prefer: wait, "
      f"{rate:,.0f} requests/s, p50 {p50}, p99 {p99}, {cpu:,.0f} µs of the service's CPU and {switches:.1f} context "
      f"switches per request, non-2xx {errors.group(1) if errors else 0}, load average {load}")
EOF
