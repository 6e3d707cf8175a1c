#!/usr/bin/env bash
# Starts a throwaway Ollama server with the tiny generated model.
#
#   start-ollama.sh [WORK_DIR]     (default: $OLLAMA_WORK_DIR or /tmp/switchboard-ollama)
#   OLLAMA_PORT    port on 127.0.0.1 (default 11500)
#   OLLAMA_BIN     ollama binary (default: whatever install-ollama.sh prints)
#
# Everything the server writes (models, keys, log, pid file) stays in WORK_DIR.
# Prints the server PID on stdout; stop it with stop-ollama.sh WORK_DIR.
# Then point clients at OLLAMA_HOST=http://127.0.0.1:$OLLAMA_PORT.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
work="${1:-${OLLAMA_WORK_DIR:-/tmp/switchboard-ollama}}"
port="${OLLAMA_PORT:-11500}"
model=switchboard-tiny

log() { echo "start-ollama: $*" >&2; }

bin="${OLLAMA_BIN:-$("$here/install-ollama.sh")}"
mkdir -p "$work/home" "$work/models"
work="$(cd "$work" && pwd)"
pidfile="$work/ollama.pid"

# The server's environment: loopback only, no cloud features, and HOME inside
# the work dir because the server creates ~/.ollama/id_ed25519 on first start.
export HOME="$work/home"
export OLLAMA_HOST="127.0.0.1:$port"
export OLLAMA_MODELS="$work/models"
export OLLAMA_NO_CLOUD=1
# Ollama 0.17.4 can leak a request slot when a client disconnects mid-stream
# (the handler blocks forever sending to a reader that is gone; upstream
# issue ollama/ollama#17131). With one slot the model then hangs for every
# later request until the server restarts; a second slot keeps it usable.
export OLLAMA_NUM_PARALLEL="${OLLAMA_NUM_PARALLEL:-2}"
export OLLAMA_MAX_LOADED_MODELS="${OLLAMA_MAX_LOADED_MODELS:-1}"

# `ollama --version` asks the server's /api/version (via OLLAMA_HOST) and only
# prints "ollama version is X" when it answers; no curl needed.
up() { "$bin" --version 2>/dev/null | grep -q '^ollama version is'; }

# Deterministic, so regenerating is cheap and never goes stale.
(cd "$repo" && go run ./plugins/ollama/e2e/ggufgen -out "$work/$model.gguf")
cp "$here/Modelfile" "$work/Modelfile"   # its FROM is relative to this copy

if [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  log "reusing server pid $(cat "$pidfile")"
elif up; then
  log "something else already answers on $OLLAMA_HOST"
  exit 1
else
  # setsid: the server outlives this script and its process group.
  setsid "$bin" serve >"$work/ollama.log" 2>&1 </dev/null &
  echo $! >"$pidfile"
  log "started pid $(cat "$pidfile"), log in $work/ollama.log"
fi

for _ in $(seq 1 150); do
  up && break
  if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    log "server exited; last log lines:"; tail -n 20 "$work/ollama.log" >&2
    exit 1
  fi
  sleep 0.2
done
up || { log "server did not answer on $OLLAMA_HOST within 30s"; exit 1; }

start=$SECONDS
(cd "$work" && "$bin" create "$model" -f Modelfile >&2 </dev/null)
log "created $model in $((SECONDS - start))s; OLLAMA_HOST=http://$OLLAMA_HOST"
cat "$pidfile"
