#!/usr/bin/env bash
# Goal 1 (embedded) the way an outsider measures it: the published service, started with its defaults on a fresh data
# folder, and a client that POSTs one batch of lesson fits and waits on it (GET /v1/batches/{id} with Prefer: wait)
# until every fit has ended. Each round prints fits/s (from the POST's send to the batch's completion), the service's
# CPU per fit and its read and write system calls per fit (from /proc), and the load average.
# Usage: bench/batch.sh [fits per batch, default 10000] [rounds, default 6] [warm-up batches, default 1]
# Environment: APP a folder of a published build (else src/Api is published into a temporary folder), SERVICE_ENV
#   environment variables for the service (e.g. "DOTNET_TieredPGO=1"), FULL=1 sends every item with the whole lesson
#   (8.8 MB for 10,000) instead of `defaults` and empty items, PORT the service's port (a free one by default).
# Two builds or settings compare side by side by alternating runs: publish both beforehand and pass APP (or SERVICE_ENV).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
fits=${1:-10000}
rounds=${2:-6}
warm_up=${3:-1}
# shellcheck source=bench/service.sh
source "$root/bench/service.sh"
start_service batch

python3 - "$port" "$fits" "$rounds" "$warm_up" "$service" "$root/bench/wrk/lesson.json" "${FULL:-}" <<'EOF'
import http.client, json, os, sys, time

port, fits, rounds, warm_up, pid, lesson_path, full = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6], sys.argv[7]
lesson = json.load(open(lesson_path))
body = json.dumps({"fits": [lesson] * fits} if full else {"defaults": lesson, "fits": [{}] * fits}).encode()
ticks = os.sysconf("SC_CLK_TCK")

def io_calls():
    """The service's read and write system calls so far (file and socket alike), from /proc: a measure the machine's
    speed does not move, where fits/s and CPU per fit drift with it."""
    fields = dict(line.split(": ") for line in open(f"/proc/{pid}/io").read().splitlines())
    return int(fields["syscr"]), int(fields["syscw"])

def cpu_seconds():
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / ticks

for _ in range(600):
    try:
        probe = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        probe.request("GET", "/health/ready")
        if probe.getresponse().status == 200: break
    except OSError:
        pass
    time.sleep(0.1)
else:
    sys.exit("the service did not become ready")

conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

def batch():
    conn.request("POST", "/v1/batches", body, {"Content-Type": "application/json"})
    answer = conn.getresponse()
    created = json.loads(answer.read())
    if answer.status != 202: sys.exit(f"POST /v1/batches: {answer.status} {created}")
    while True:
        conn.request("GET", f"/v1/batches/{created['id']}", headers={"Prefer": "wait=60"})
        answer = conn.getresponse()
        state = json.loads(answer.read())
        if state["status"] == "completed": break
    if state["counts"]["succeeded"] != fits: sys.exit(f"batch {created['id']}: {state['counts']}")

for _ in range(warm_up): batch()
print(f"one batch of {fits:,} lesson fits ({len(body) / 1e6:.1f} MB) to the published service with its defaults, "
      f"{time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC, {os.cpu_count()} cores, after {warm_up} warm-up batch(es)")
print()
print("| round | fits/s | µs of the service's CPU per fit | read / write calls per fit | load average (1, 5, 15 min) |")
print("|---|---|---|---|---|")
for round in range(1, rounds + 1):
    load = " ".join(open("/proc/loadavg").read().split()[:3])
    cpu, calls, start = cpu_seconds(), io_calls(), time.perf_counter()
    batch()
    elapsed, used = time.perf_counter() - start, cpu_seconds() - cpu
    reads, writes = (after - before for after, before in zip(io_calls(), calls))
    print(f"| {round} | {fits / elapsed:,.0f} | {used / fits * 1e6:,.0f} | {reads / fits:.2f} / {writes / fits:.2f} | {load} |", flush=True)
EOF
