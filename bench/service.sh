# Sourced by the benches that measure the published service as an outsider runs it (bench/batch.sh,
# bench/prefer-wait.sh): `start_service NAME` starts it with its defaults on a fresh data folder and sets
#   work    a temporary folder, removed (and the service stopped) when the bench exits;
#   app     the published build: $APP, or src/Api published into $work;
#   port    $PORT, or a free port;
#   service the service's PID.
# SERVICE_ENV holds environment variables for the service (e.g. "Log__BufferSize=0").
# The caller sets root (the repository's root) before it calls start_service.
start_service() {
  work=$(mktemp -d "/tmp/fitservice-$1-XXXXXX")
  service=
  trap stop_service EXIT
  if [ -n "${APP:-}" ]; then app=$APP; else
    echo "publishing the service..." >&2
    dotnet publish "$root/src/Api" -c Release -o "$work/app" --nologo -v q >/dev/null
    app=$work/app
  fi
  port=${PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
  mkdir -p "$work/data"
  # shellcheck disable=SC2086
  (cd "$work" && exec env ${SERVICE_ENV:-} ASPNETCORE_URLS="http://127.0.0.1:$port" \
    Storage__ConnectionString="Data Source=$work/data/fitservice.db" dotnet "$app/FitService.Api.dll" >"$work/service.log" 2>&1) &
  service=$!
}

stop_service() {
  if [ -n "$service" ]; then kill "$service" 2>/dev/null && wait "$service" 2>/dev/null; fi
  rm -rf "$work"
}
