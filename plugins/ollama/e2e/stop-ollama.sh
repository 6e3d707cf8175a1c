#!/usr/bin/env bash
# Stops a server started by start-ollama.sh with the same WORK_DIR.
#   stop-ollama.sh [WORK_DIR]   (default: $OLLAMA_WORK_DIR or /tmp/switchboard-ollama)
set -euo pipefail

work="${1:-${OLLAMA_WORK_DIR:-/tmp/switchboard-ollama}}"
pidfile="$work/ollama.pid"

[[ -f "$pidfile" ]] || { echo "stop-ollama: no $pidfile" >&2; exit 0; }
pid="$(cat "$pidfile")"
if kill -0 "$pid" 2>/dev/null; then
  # SIGTERM lets the server stop its model runner subprocesses too.
  kill -TERM "$pid"
  for _ in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "stop-ollama: pid $pid ignored SIGTERM, killing its process group" >&2
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid"
  fi
fi
rm -f "$pidfile"
echo "stop-ollama: stopped pid $pid" >&2
