#!/usr/bin/env bash
# Unpacks the tools the tests run but the node never needs into DIR (default
# build/test-tools), from Debian's packages without installing them: the Grafana
# dashboard test (tests/e2e/grafana_dashboard.test.cpp) runs every panel's query on a
# real Prometheus, and installing the `prometheus` package would start and enable a
# Prometheus service on the machine. A second run finds the tool and does nothing.
set -euo pipefail

dir=${1:-build/test-tools}
if [[ -x "$dir/usr/bin/prometheus" ]]; then
  exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"  # apt-get download hands the file to the _apt user when it can

download() { (cd "$tmp" && apt-get download -q prometheus >/dev/null 2>"$tmp/err"); }
if ! download; then
  # Package lists never fetched (or stale) on this machine: refresh them once.
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { cat "$tmp/err" >&2; echo "fetch-test-tools: need root or sudo for apt-get update" >&2; exit 1; }
    sudo="sudo"
  fi
  $sudo apt-get update -q >/dev/null
  download || { cat "$tmp/err" >&2; echo "fetch-test-tools: apt-get download prometheus failed" >&2; exit 1; }
fi

mkdir -p "$dir"
dpkg-deb -x "$tmp"/prometheus_*.deb "$tmp/x"
mkdir -p "$dir/usr/bin"
cp "$tmp/x/usr/bin/prometheus" "$dir/usr/bin/prometheus"
echo "fetch-test-tools: $("$dir/usr/bin/prometheus" --version 2>&1 | head -1) in $dir"
