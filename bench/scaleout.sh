#!/usr/bin/env bash
# Throughput of the scale-out topology on this machine, side by side in one run on one throw-away PostgreSQL:
#   a) Hangfire.PostgreSql no-op jobs/s run by 2 worker processes, b) small fits/s end to end (8 clients -> APIS API
#   processes -> 2 worker processes), and queued -> started latency; b0) the same with single-fit inserts
#   (Storage:GroupInserts=false, as many API processes of their own), the baseline of b; c) batches. Needs the Debian
#   'postgresql' package.
# EMBEDDED=1 then starts one embedded process (SQLite, 2 workers) and runs phases d and e against it too, for the
# latencies of both modes side by side in one run. SERVICE_ARGS adds settings to every service process
# (e.g. "--Webhooks:Workers=2"); KEEP_LOGS=DIR keeps the processes' logs there; BENCH_DUMP=FILE writes phase d's
# latency of each fit, in order of their ends (FILE.embedded for the embedded run). Phase e measures fits run by the
# workers: Prefer: wait fits small enough to run on the request itself (Workers:InlineFitWork) are sent to the queue
# instead (--Workers:InlineFitWork=0 to every process); INLINE=1 leaves that setting alone.
# Usage: bench/scaleout.sh [no-op jobs, default 2000] [fits, default 10000] [clients, default 8] [webhook/wait fits, default 500]
# Environment: PORT_BASE and PG_PORT (ports; free ones by default), APIS (API processes, default 1), WORKERS (worker processes, default 2), BASELINE=0 skips b0,
#   BATCH_SIZE (fits per batch in c, default 1000; 10000 = one batch), BENCH_PHASES (e.g. "bc"),
#   GROUP_INSERTS=false makes the APIS processes insert each fit alone (the default of the service) as well,
#   BASELINE_ARGS adds settings to the baseline API processes only (with GROUP_INSERTS=false, b against b0 then
#   compares the service with and without them, side by side in one run), BASELINE_ENV (e.g. "DOTNET_TieredPGO=1")
#   environment variables for them, BASELINE_APP a folder of another published build for them (e.g. one published
#   ReadyToRun: dotnet publish src/Api -c Release -r linux-x64 --self-contained false -p:PublishReadyToRun=true -o DIR),
#   B_WARM_UP=N sends N fits one POST each (to every API process of b and b0) before b is measured, so that tiered
#   compilation has settled in every process (default 10,000; 0 for none), C_WARM_UP=N runs N fits in batches (of at
#   most BATCH_SIZE, to every API process in turn) before c, after b too, whose fits do not run the batch path (default
#   20,000; 0 for none), APP a folder of a published build for every service process (no publish: two builds
#   published beforehand can be alternated run by run), PG_OPTS more PostgreSQL settings
#   (e.g. "-c session_preload_libraries=auto_explain -c auto_explain.log_min_duration=2ms"; KEEP_LOGS keeps its log),
#   PG_STATS=1 loads pg_stat_statements and prints, after the run, the statements that took the database's time
#   (calls, execution and planning milliseconds, rows) and PostgreSQL's transactions.
# The cluster runs with fsync off (as the test cluster does): it measures the service and Hangfire, not the disk.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${FITSERVICE_TEST_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)}
work=$(mktemp -d /tmp/fitservice-bench-XXXXXX)
pids=()

as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# PORT_BASE: the service processes take ports from it in turn (on a shared machine, a range of one's own); else free ones.
port_n=0
take_port() { if [ -n "${PORT_BASE:-}" ]; then taken=$((PORT_BASE + port_n)); port_n=$((port_n + 1)); else taken=$(free_port); fi; }
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  as_postgres "$bin/pg_ctl" -D "$work/data" -m fast -w stop >/dev/null 2>&1 || true
  [ -n "${KEEP_LOGS:-}" ] && cp "$work"/*.log "$KEEP_LOGS"/ 2>/dev/null; rm -rf "$work"
}
trap cleanup EXIT

[ "$(id -u)" = 0 ] && chown postgres: "$work"
as_postgres "$bin/initdb" -D "$work/data" -U postgres -A trust -E UTF8 --locale=C --no-sync >/dev/null
port=${PG_PORT:-$(free_port)}
as_postgres "$bin/pg_ctl" -D "$work/data" -l "$work/postgres.log" -w start \
  -o "-p $port -k $work -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off ${PG_OPTS:-}${PG_STATS:+ -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.max=1000 -c pg_stat_statements.track_planning=on}" >/dev/null
"$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres bench
psql_bench() { "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d bench -X -q "$@"; }
[ -n "${PG_STATS:-}" ] && psql_bench -c "CREATE EXTENSION pg_stat_statements"
pg_port=$port
cs="Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=bench"

echo "publishing the service and building the driver..."
if [ -n "${APP:-}" ]; then ln -s "$APP" "$work/app"; else dotnet publish "$root/src/Api" -c Release -o "$work/app" --nologo -v q >/dev/null; fi
dotnet build "$root/bench/ScaleOut.Bench" -c Release -o "$work/bench" --nologo -v q >/dev/null

start() { # start <log name> <settings...>
  take_port; local p=$taken; local log="$work/$1.log"; shift
  env ${START_ENV:-} dotnet "${START_APP:-$work/app}/FitService.Api.dll" --urls="http://127.0.0.1:$p" \
    --Serilog:MinimumLevel:Default=Warning --Limits:RequestsPerSecond=0 \
    ${SERVICE_ARGS:-} $([ "${INLINE:-0}" = 1 ] || echo --Workers:InlineFitWork=0) --Webhooks:AllowedHosts:0=127.0.0.1 --Webhooks:SigningSecret=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw "$@" >"$log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$p/health/ready" >/dev/null && { started_port=$p; return; }; sleep 0.1; done
  echo "process did not start:" >&2; cat "$log" >&2; exit 1
}
# Not in $(…): a subshell's pids+=() would not reach the cleanup, and the process would outlive the bench.
# WORKERS=1 runs one worker process (default 2).
scaled=(--Storage:Provider=postgres "--Storage:ConnectionString=$cs")
for w in $(seq 1 "${WORKERS:-2}"); do start "worker$w" "${scaled[@]}" --Api:Enabled=false --Workers:Count=2; done
apis=(); baselines=()
for a in $(seq 1 "${APIS:-1}"); do start "api$a" "${scaled[@]}" --Workers:Count=0 --Storage:GroupInserts=${GROUP_INSERTS:-true}; apis+=("http://127.0.0.1:$started_port"); done
if [ "${BASELINE:-1}" != 0 ]; then
  for a in $(seq 1 "${APIS:-1}"); do START_ENV=${BASELINE_ENV:-} START_APP=${BASELINE_APP:-} start "baseline$a" "${scaled[@]}" --Workers:Count=0 --Storage:GroupInserts=false ${BASELINE_ARGS:-}; baselines+=("http://127.0.0.1:$started_port"); done
fi
workers=${WORKERS:-2}
postmaster=$(head -1 "$work/data/postmaster.pid")
# CPU seconds of a process and of the children it reaped (PostgreSQL's backends), from /proc.
cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.1f", ($14 + $15 + $16 + $17) / hz }' "/proc/$1/stat"; }
# PostgreSQL: the postmaster, the backends it reaped, and the backends still alive (pooled connections).
pg_cpu() { { cat "/proc/$postmaster/stat"; for c in $(ps --ppid "$postmaster" -o pid=); do cat "/proc/$c/stat" 2>/dev/null; done; } |
  awk -v hz="$(getconf CLK_TCK)" '{ t += $14 + $15 + $16 + $17 } END { printf "%.1f", t / hz }'; }
cpu_report() { echo "cpu seconds: workers $(for p in "${pids[@]:0:$workers}"; do printf '%s ' "$(cpu "$p")"; done)apis $(for p in "${pids[@]:$workers}"; do printf '%s ' "$(cpu "$p")"; done)postgres $(pg_cpu)"; }
cpu_report

echo "$(date -u +%F) $(nproc) cores, $(uptime | sed 's/.*load average/load average/')"
[ -n "${PG_STATS:-}" ] && psql_bench -c "SELECT pg_stat_statements_reset(), pg_stat_reset()" >/dev/null
# The driver prints each phase's CPU per 1,000 fits by role from these (the baseline processes count as "baseline").
cpu_roles="postgres=$postmaster"
for i in "${!pids[@]}"; do
  if [ "$i" -lt "$workers" ]; then role=workers; elif [ "$i" -lt $((workers + ${#apis[@]})) ]; then role=apis; else role=baseline; fi
  cpu_roles="$cpu_roles,$role=${pids[$i]}"
done
BENCH_CPU=$cpu_roles BASELINE_APIS=$(IFS=,; echo "${baselines[*]}") dotnet "$work/bench/FitService.ScaleOut.Bench.dll" "$cs" "$(IFS=,; echo "${apis[*]}")" "${1:-2000}" "${2:-10000}" "${3:-8}" "${4:-500}"
cpu_report
if [ -n "${PG_STATS:-}" ]; then
  echo "PostgreSQL statements of the run, by total time (pg_stat_statements):"
  psql_bench -P pager=off -c "SELECT calls, round(total_exec_time::numeric) AS exec_ms, round(total_plan_time::numeric) AS plan_ms, round(mean_exec_time::numeric, 3) AS mean_ms, rows,
      left(regexp_replace(query, '\s+', ' ', 'g'), 110) AS query
    FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat%' ORDER BY total_exec_time DESC LIMIT ${PG_STATS_TOP:-30}"
  psql_bench -P pager=off -c "SELECT sum(calls) AS statements, round(sum(total_exec_time)::numeric) AS exec_ms, round(sum(total_plan_time)::numeric) AS plan_ms FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat%'"
  psql_bench -P pager=off -c "SELECT xact_commit, xact_rollback, tup_inserted, tup_updated, tup_deleted FROM pg_stat_database WHERE datname = 'bench'"
  psql_bench -P pager=off -c "SELECT relname, n_tup_ins, n_tup_upd, n_tup_hot_upd, n_tup_del FROM pg_stat_user_tables WHERE relname IN ('fits', 'fit_points', 'fit_history') ORDER BY relname"
  # An ended fit's row: past about 2 kB PostgreSQL compresses its longest values (pglz) or moves them out of line.
  psql_bench -P pager=off -c "SELECT count(*) AS ended_fits, round(avg(pg_column_size(f.*))) AS row_bytes, round(avg(pg_column_size(request))) AS request_bytes,
      round(avg(pg_column_size(outcome))) AS outcome_bytes, round(avg(length(outcome))) AS outcome_chars FROM fits f WHERE finished_at IS NOT NULL"
fi
if [ "${EMBEDDED:-0}" = 1 ]; then
  start embedded "--Storage:ConnectionString=Data Source=$work/embedded.db" --Workers:Count=2
  echo "embedded (SQLite, one process), $(uptime | sed 's/.*load average/load average/')"
  BENCH_DUMP=${BENCH_DUMP:+$BENCH_DUMP.embedded} BENCH_PHASES=de dotnet "$work/bench/FitService.ScaleOut.Bench.dll" "$cs" "http://127.0.0.1:$started_port" 0 0 "${3:-8}" "${4:-500}"
fi
