#!/usr/bin/env bash
# Package sizes: Aura's .deb and .rpm against a plain Tauri app's (tests/bench/probe: one empty
# window), built in the same run with the same Tauri (Aura's Cargo.lock), profile and target folder.
# Usage: bash tests/bench/packages.sh [debug|release]      (after `bash .ci/app` or `.ci/test`)
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
PROFILE="${1:-release}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/aura/target}"
TAURI="$REPO/ui/node_modules/.bin/tauri"
BUNDLE="$CARGO_TARGET_DIR/$PROFILE/bundle"
FLAG=(); [ "$PROFILE" = debug ] && FLAG=(--debug)
[ -f "$REPO/ui/dist/index.html" ] || (cd "$REPO/ui" && npm run --silent build)

LOG="$(mktemp)"
quiet() { "$@" >"$LOG" 2>&1 || { cat "$LOG"; exit 1; }; }
rm -rf "$BUNDLE/deb" "$BUNDLE/rpm"
(cd "$REPO" && quiet "$TAURI" build --ci "${FLAG[@]}" --bundles deb,rpm --config '{"build":{"beforeBuildCommand":""}}')
cp "$REPO/Cargo.lock" "$REPO/tests/bench/probe/Cargo.lock"
(cd "$REPO/tests/bench/probe" && quiet "$TAURI" build --ci "${FLAG[@]}" --bundles deb,rpm)

size() { stat -c %s "$1"; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
installed() { dpkg-deb -f "$1" Installed-Size; }  # KiB
echo "Package sizes, $PROFILE build"
for kind in deb rpm; do
  aura=$(ls "$BUNDLE/$kind"/Aura*."$kind"); probe=$(ls "$BUNDLE/$kind"/tauri-probe*."$kind")
  a=$(size "$aura"); p=$(size "$probe")
  printf '  .%s  Aura %s   plain Tauri app %s   ratio %s\n' "$kind" "$(mib "$a")" "$(mib "$p")" "$(awk -v a="$a" -v p="$p" 'BEGIN { printf "%.2f", a / p }')"
done
aura=$(ls "$BUNDLE"/deb/Aura*.deb); probe=$(ls "$BUNDLE"/deb/tauri-probe*.deb)
ai=$(installed "$aura"); pi=$(installed "$probe")
printf '  installed  Aura %s   plain Tauri app %s   ratio %s\n' "$(mib $((ai * 1024)))" "$(mib $((pi * 1024)))" "$(awk -v a="$ai" -v p="$pi" 'BEGIN { printf "%.2f", a / p }')"
