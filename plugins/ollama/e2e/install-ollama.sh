#!/usr/bin/env bash
# Builds a CPU-only Ollama server from the Go module and installs it.
#
#   OLLAMA_BIN_DIR  where the binary goes (default: $(go env GOPATH)/bin)
#
# Idempotent: installs only missing packages and skips the build when the
# binary already reports the pinned version. Prints the binary path last.
set -euo pipefail

OLLAMA_VERSION=0.17.4
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bin_dir="${OLLAMA_BIN_DIR:-$(go env GOPATH)/bin}"
bin="$bin_dir/ollama"

log() { echo "install-ollama: $*" >&2; }

# `ollama --version` with no server running prints
# "Warning: client version is X" on stderr; a server adds "ollama version is X".
installed_version() {
  "$bin" --version 2>&1 | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | tail -n1 || true
}

if [[ -x "$bin" && "$(installed_version)" == "$OLLAMA_VERSION" ]]; then
  log "ollama $OLLAMA_VERSION already installed"
  echo "$bin"
  exit 0
fi

# The module zip drops llama.cpp's vendor/ headers. Debian ships two of them
# under /usr/include with the same relative paths llama.cpp uses
# (<nlohmann/json.hpp>, "stb/stb_image.h"), so no -I is needed for those.
# The cgo packages also need a C/C++ compiler.
missing=()
[[ -f /usr/include/nlohmann/json.hpp ]] || missing+=(nlohmann-json3-dev)
[[ -f /usr/include/stb/stb_image.h ]] || missing+=(libstb-dev)
command -v gcc >/dev/null || missing+=(gcc)
command -v g++ >/dev/null || missing+=(g++)
if ((${#missing[@]})); then
  log "installing ${missing[*]}"
  if [[ $(id -u) -eq 0 ]]; then sudo=(); else sudo=(sudo); fi
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# miniaudio.h is not packaged; a stand-in that fails every decode lives in
# include/. cgo flags are part of Go's build cache key, so the -I path must not
# depend on where the repo is checked out: copy the header to a fixed folder
# named after its hash (a changed stub gets a new folder and a rebuild).
stub="$here/include/miniaudio/miniaudio.h"
stub_hash="$(sha256sum "$stub" | cut -c1-12)"
inc_dir="${XDG_CACHE_HOME:-$HOME/.cache}/switchboard/ollama-include-$stub_hash"
if ! cmp -s "$stub" "$inc_dir/miniaudio/miniaudio.h"; then
  mkdir -p "$inc_dir/miniaudio"
  cp "$stub" "$inc_dir/miniaudio/miniaudio.h"
fi

log "building ollama $OLLAMA_VERSION (a few minutes when Go caches are cold)"
start=$SECONDS
mkdir -p "$bin_dir"
# -X sets the version string; without it the binary reports 0.0.0.
# GOFLAGS is cleared so a caller's -mod=... cannot leak into a module install.
GOBIN="$bin_dir" CGO_ENABLED=1 GOFLAGS= \
  CGO_CPPFLAGS="-I$inc_dir" \
  go install -ldflags "-X=github.com/ollama/ollama/version.Version=$OLLAMA_VERSION" \
  "github.com/ollama/ollama@v$OLLAMA_VERSION"
log "built in $((SECONDS - start))s"

v="$(installed_version)"
if [[ "$v" != "$OLLAMA_VERSION" ]]; then
  log "built binary reports version '$v', want $OLLAMA_VERSION"
  exit 1
fi
echo "$bin"
