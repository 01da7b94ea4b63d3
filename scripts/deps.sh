#!/usr/bin/env bash
# scripts/deps.sh — install the Debian packages that building and testing
# sluice need. Idempotent: it asks dpkg what is already there and runs
# apt-get (update, then install) only for what is missing. Needs root, or
# sudo when not root. Quiet: apt's output goes to a log that is printed only
# when something fails.
#
# Extra packages can be added for one run with SLUICE_EXTRA_DEPS="pkg1 pkg2".
set -euo pipefail

packages=(
    build-essential # gcc, g++, make, libc headers
    clang           # clang++: the public headers compile as C++ (tests/install/cxx_test.sh)
    libclang-rt-dev # clang's libFuzzer and sanitizer runtimes: scripts/fuzz.sh
    cmake
    pkg-config
    libyaml-dev     # config loader
    libxxhash-dev   # hashing (XXH3)
    libcunit1-dev   # unit tests
    netcat-openbsd  # integration tests and the README's `nc -lk 9999`
    python3         # integration tests: free ports, JSON checks
    clang-format    # the format check in scripts/test.sh
    time            # /usr/bin/time for the benchmarks' peak memory
    curl            # tests: HTTP requests to the server (--http)
    librdkafka-dev  # connectors/kafka
    kcat            # Kafka integration tests: the outside producer/consumer
    default-jre-headless # scripts/kafka.sh: the test broker (Apache Kafka)
    maven           # scripts/kafka.sh: fetches the broker's jars from Maven Central
    libzmq3-dev     # connectors/zmq (libzmq 4.3, CURVE)
    python3-zmq     # ZeroMQ integration tests: the outside peer (pyzmq)
    locales         # unit.test_dtoa: localedef makes a comma-decimal locale (de_DE)
    tmux            # integration.test_cli_top: a real terminal for `sluice top`
    libmicrohttpd-dev # the HTTP server: /metrics, /health, /ready, the API and the page
    prometheus      # tests: promtool check metrics, and a real Prometheus scraping /metrics
    chromium        # integration.test_http_page: the live page in a headless browser (scripts/playwright.sh)
)
# node and npm run kafkajs, the tests' second outside Kafka client
# (scripts/kafkajs.sh), and playwright-core (scripts/playwright.sh):
# Debian's, unless a node with npm is there already (some images ship a
# newer one, which Debian's npm would conflict with).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    packages+=(nodejs npm)
fi
# shellcheck disable=SC2206 # word splitting is the point
packages+=(${SLUICE_EXTRA_DEPS:-})

is_installed() {
    [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = "installed" ]
}

missing=()
for p in "${packages[@]}"; do
    is_installed "$p" || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
    echo "deps.sh: all ${#packages[@]} packages present"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "deps.sh: missing ${missing[*]}, and this is not a Debian system (no apt-get);" \
        "install them by hand" >&2
    exit 1
fi
sudo=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        sudo=(sudo -n)
    else
        echo "deps.sh: missing ${missing[*]}; run as root (or install sudo)" >&2
        exit 1
    fi
fi

log=$(mktemp "${TMPDIR:-/tmp}/sluice-deps.XXXXXX")
trap 'rm -f "$log"' EXIT
export DEBIAN_FRONTEND=noninteractive
echo "deps.sh: installing ${missing[*]}"
if ! "${sudo[@]}" apt-get update -qq >"$log" 2>&1 ||
    ! "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >>"$log" 2>&1; then
    cat "$log" >&2
    echo "deps.sh: apt-get failed (see above)" >&2
    exit 1
fi
for p in "${missing[@]}"; do
    if ! is_installed "$p"; then
        echo "deps.sh: $p is still not installed" >&2
        exit 1
    fi
done
echo "deps.sh: installed ${#missing[@]} package(s)"
