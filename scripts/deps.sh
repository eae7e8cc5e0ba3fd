#!/usr/bin/env bash
# Installs what adw needs from Debian 12 when run as root; otherwise prints
# the exact apt-get line and fails. Usage: scripts/deps.sh [--test]
set -euo pipefail
pkgs=(build-essential meson ninja-build pkg-config libpq-dev libmicrohttpd-dev libcjson-dev
      libcurl4-openssl-dev libssl-dev uuid-dev check postgresql)
if [ "${1:-}" = "--test" ]; then pkgs+=(chromium nodejs npm jq git); fi
missing=()
for p in "${pkgs[@]}"; do
  case "$p" in
    postgresql) ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=("$p") ;;
    nodejs) command -v node >/dev/null 2>&1 || missing+=("$p") ;;
    npm) command -v npm >/dev/null 2>&1 || missing+=("$p") ;;
    *) dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p") ;;
  esac
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "adw: missing packages: ${missing[*]}" >&2
  echo "adw: install them with: sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
