# Sourced by the e2e tests that talk to a running `inferlab live` over HTTP.
#
# start_live_served LOG_PREFIX URL_KIND CLI ARGS...: starts the CLI in the
#   background (stdout LOG_PREFIX.out, stderr LOG_PREFIX.err), waits (at most
#   60 s) for the line it prints for URL_KIND ("metrics" or "web monitor") and
#   sets LIVE_PID and LIVE_URL. Returns 1 if the process ends first.
# stop_live_served: SIGTERM (a clean stop: the run drains and exits 0), waits
#   for it, and sets LIVE_EXIT; idempotent.

start_live_served() {
  local prefix=$1 kind=$2
  shift 2
  "$@" >"$prefix.out" 2>"$prefix.err" &
  LIVE_PID=$!
  LIVE_URL=""
  for _ in $(seq 600); do
    LIVE_URL=$(sed -n "s|^$kind: \(http://[^ ]*\)$|\1|p" "$prefix.out" | head -n 1)
    [ -n "$LIVE_URL" ] && return 0
    kill -0 "$LIVE_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "live did not print its $kind URL: $(tail -n 3 "$prefix.err" "$prefix.out")"
  return 1
}

stop_live_served() {
  [ -n "${LIVE_PID:-}" ] || return 0
  kill -TERM "$LIVE_PID" 2>/dev/null
  wait "$LIVE_PID"
  LIVE_EXIT=$?
  LIVE_PID=""
}
