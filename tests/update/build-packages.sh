#!/usr/bin/env bash
# Builds the packages the update test installs, with a throwaway signing key made here:
#   a/  Aura at this version (tauri.conf.json), trusting only the throwaway key
#   b/  the same app one patch version newer, signed with that key (.deb/.rpm + .sig)
#   other.key  a second key, to sign a package the app must refuse
# Usage: bash tests/update/build-packages.sh OUT_DIR
# Debug bundles of the shared build (CARGO_TARGET_DIR): only the app crate is compiled again. The
# UI must be built (ui/dist) first, as the test command does. AURA_PACKAGE_PROFILE=release builds
# optimized packages instead (for the benchmarks; a cold release build takes a while).
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
OUT="$(mkdir -p "$1" && cd "$1" && pwd)"
TAURI="$REPO/ui/node_modules/.bin/tauri"
PROFILE="${AURA_PACKAGE_PROFILE:-debug}"
BUNDLE="${CARGO_TARGET_DIR:-$REPO/target}/$PROFILE/bundle"
PROFILE_FLAG=(); [ "$PROFILE" = debug ] && PROFILE_FLAG=(--debug)
[ -f "$REPO/ui/dist/index.html" ] || { echo "build the UI first (cd ui && npm run build)" >&2; exit 1; }

"$TAURI" signer generate --ci -p "" -f -w "$OUT/test.key" >/dev/null
"$TAURI" signer generate --ci -p "" -f -w "$OUT/other.key" >/dev/null
PUB="$(cat "$OUT/test.key.pub")"
A="$(node -p "require('$REPO/tauri.conf.json').version")"
B="$(node -p "const [x, y, z] = '$A'.split('-')[0].split('.').map(Number); [x, y, z + 1].join('.')")"

build() { # version dest
  rm -rf "$BUNDLE/deb" "$BUNDLE/rpm" "$2"
  mkdir -p "$2"
  (cd "$REPO" && TAURI_SIGNING_PRIVATE_KEY="$(cat "$OUT/test.key")" TAURI_SIGNING_PRIVATE_KEY_PASSWORD="" \
    "$TAURI" build --ci "${PROFILE_FLAG[@]}" --bundles deb,rpm \
      --config "{\"version\":\"$1\",\"bundle\":{\"createUpdaterArtifacts\":true},\"build\":{\"beforeBuildCommand\":\"\"},\"plugins\":{\"updater\":{\"pubkey\":\"$PUB\"}}}")
  cp "$BUNDLE"/deb/*.deb "$BUNDLE"/deb/*.deb.sig "$BUNDLE"/rpm/*.rpm "$BUNDLE"/rpm/*.rpm.sig "$2/"
}
build "$A" "$OUT/a"
build "$B" "$OUT/b"
printf '{"a":"%s","b":"%s"}\n' "$A" "$B" >"$OUT/versions.json"
ls -l "$OUT/a" "$OUT/b"
