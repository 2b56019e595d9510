#!/usr/bin/env bash
# Runs a command inside a private D-Bus session with an unlocked gnome-keyring (Secret Service),
# using a throwaway keyring directory:  dbus-run-session -- bash .ci/with-keyring.sh CMD...
set -euo pipefail
keyring_home="$(mktemp -d)"
export XDG_DATA_HOME="$keyring_home/data"
mkdir -p "$XDG_DATA_HOME"
# An empty password does not create the login keyring; a throwaway one does.
eval "$(printf 'aura-ci' | gnome-keyring-daemon --unlock --components=secrets 2>/dev/null)"
export GNOME_KEYRING_CONTROL
trap 'kill "${GNOME_KEYRING_PID:-}" 2>/dev/null || true; rm -rf "$keyring_home"' EXIT
"$@"
