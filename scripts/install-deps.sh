#!/usr/bin/env bash
# Installs exactly the Debian packages the build and tests need, skipping those
# already present, so a second run costs one dpkg query and nothing else.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libcaf-dev
  librocksdb-dev rocksdb-tools
  libprotobuf-dev protobuf-compiler
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  prometheus-cpp-dev
  libspdlog-dev
  tao-pegtl-dev
  doctest-dev
  libyaml-cpp-dev
  libssl-dev ca-certificates  # https:// for the built-in http task (TLS, system CA store)
  libjemalloc-dev  # the allocator of every binary (cmake/dependencies.cmake)
  curl
  jq  # the deployment guide's `grep "CLUSTER_EVENT" application.log | jq` (e2e test)
  nftables  # partition tests (tests/cluster/engine_cluster.test.cpp); setpriv is in util-linux
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
