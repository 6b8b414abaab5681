#!/usr/bin/env bash
# deps.sh: what the tests need besides Go and Node, from Debian's packages.
# `make test` runs it first (and .ci/run, through make test). It installs the
# missing packages when it can (as root, or with sudo that asks no password);
# otherwise it stops, naming them and the one command that installs them.
set -euo pipefail

# package, then the file or command that shows it is there.
need=(
  "chromium /usr/bin/chromium"                              # UI end-to-end tests (CHROMIUM_BIN)
  "openssl openssl"                                         # e2e certificates
  "ca-certificates /etc/ssl/certs/ca-certificates.crt"      # the container image's CA bundle
  "prometheus /usr/bin/prometheus"                          # peers: federation, remote read, e2e
  "prometheus-alertmanager /usr/bin/prometheus-alertmanager"
  "victoria-metrics /usr/bin/victoria-metrics"
  "podman podman"                                           # make image, make test-image
  "systemd systemd-analyze"                                 # systemd-analyze verify of the unit
  "wrk wrk"                                                 # bench scripts' test
)

has() {
  case $1 in
    /*) [ -e "$1" ] ;;
    *) command -v "$1" >/dev/null ;;
  esac
}

missing=()
for entry in "${need[@]}"; do
  read -r pkg probe <<<"$entry"
  if [ "$pkg" = chromium ] && [ -n "${CHROMIUM_BIN:-}" ]; then probe=$CHROMIUM_BIN; fi
  # docker counts only when its daemon answers (a client alone builds nothing).
  if [ "$pkg" = podman ] && docker info >/dev/null 2>&1; then continue; fi
  has "$probe" || missing+=("$pkg")
done
for tool in go npm; do
  command -v "$tool" >/dev/null || { echo "deps.sh: $tool is not on PATH; the README's Quick start says which version" >&2; exit 1; }
done
[ ${#missing[@]} -eq 0 ] && exit 0

install="apt-get install -y --no-install-recommends ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    sudo="sudo"
  else
    echo "deps.sh: the tests need these Debian packages: ${missing[*]}" >&2
    echo "deps.sh: install them with: sudo apt-get update && sudo $install" >&2
    exit 1
  fi
fi
if ! command -v apt-get >/dev/null; then
  echo "deps.sh: the tests need these Debian packages (or your system's equivalents): ${missing[*]}" >&2
  exit 1
fi
echo "deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo $install -qq >/dev/null
