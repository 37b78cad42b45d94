#!/usr/bin/env bash
# Runtime knobs of the service side by side under the GET mix (goal 5): each configuration gets a fresh service and a
# short LoadTest run, in turn, ROUNDS times (A B C … A B C …), so a machine whose load drifts drifts for all of them.
# Prints one line per run: the service's CPU per request, GC pause per second, reads within 10 ms server-side, server-side
# and from-send p99, and the generator's CPU.
#   bench/LoadTest/knobs.sh PUBLISHED_DLL [ROUNDS=2] [SECONDS=60] [WARM_UP=20] [RATE=2000]
# The configurations are the lines of KNOBS (a name, then --service-env / --service-arg options), e.g.
#   KNOBS=$'default\nworkstation --service-env DOTNET_gcServer=0' bench/LoadTest/knobs.sh /tmp/fitservice-publish/FitService.Api.dll
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dll="${1:?the published service: dotnet publish src/Api -c Release -o DIR, then DIR/FitService.Api.dll}"
rounds="${2:-2}" seconds="${3:-60}" warm="${4:-20}" rate="${5:-2000}"
knobs="${KNOBS:-default
workstation-gc --service-env DOTNET_gcServer=0
no-background-gc --service-env DOTNET_gcConcurrent=0
gen0-64mb --service-env DOTNET_GCgen0size=0x4000000
min-threads-8 --service-env DOTNET_ThreadPool_ForceMinWorkerThreads=8}"
dotnet build -c Release "$here" >/dev/null || exit 1
out="$(mktemp -d)"
printf '| round | knob | completed/s | CPU µs/request | GC pause ms/s | ≤ 10 ms server-side | p99 server-side, ms | p99 from send, ms | generator CPU, s | load average, start → end |\n|---|---|---|---|---|---|---|---|---|---|\n'
for round in $(seq 1 "$rounds"); do
  while IFS= read -r line; do
    [ -z "$line" ] && continue
    read -r name options <<<"$line"
    log="$out/$round-$name.txt"
    # shellcheck disable=SC2086 # the options are words on purpose
    dotnet "$here/bin/Release/net10.0/FitService.LoadTest.dll" --start "$dll" --rate "$rate" --duration "$seconds" --warm-up "$warm" \
      --memory-every 5 --no-full-gc $options ${LOADTEST_ARGS:-} >"$log" 2>&1
    awk -v round="$round" -v name="$name" '
      /^[0-9-]+ [0-9:]+ UTC, / { load = $(NF - 2) }
      /^load average at the end/ { load = load " → " $(NF - 2) }
      /^sent / { rate = $(NF - 4) }
      /^\| read, server-side/ { split($0, c, "|"); server = c[5] }
      /^\| read, from send/ { split($0, c, "|"); send = c[5] }
      /took ≤ 10 ms inside/ { within = $2 " %" }
      /^service CPU/ { per = $5; generator = $(NF - 1) }
      /^service GC pauses/ { pause = $6 }
      END { printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", round, name, rate, per, pause, within, server, send, generator, load }' "$log"
  done <<<"$knobs"
done
echo "logs: $out"
