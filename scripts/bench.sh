#!/usr/bin/env bash
# The security-cost benchmark: `just bench`.
#
# Builds and runs baton-bench, which starts three platforms in-process (E2E, exchange, E2E with
# mTLS off in lab mode) plus a hello-world service, a bare proxy and a second gateway, measures
# every row in one process, and writes target/bench/bench.md and target/bench/bench.json.
# Nothing needs to be running first, and nothing is left running after.
#
#   just bench                              release build (the numbers docs/performance.md shows)
#   BATON_BENCH_PROFILE=dev just bench      the test build: no release compile, slower code
#   BATON_BENCH_SECS=5 just bench           a longer saturated phase per row (default 3 s)
#
# The first release build compiles every dependency again (several minutes on 2 cores); after
# that a run takes about a minute.

set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

profile=${BATON_BENCH_PROFILE:-release}
case $profile in
    release) cargo_profile=(--release) dir=release ;;
    dev) cargo_profile=() dir=debug ;;
    *) echo "bench.sh: BATON_BENCH_PROFILE must be release or dev, not \`$profile\`" >&2; exit 64 ;;
esac

cargo build -q "${cargo_profile[@]}" -p baton-loadtests --bin baton-bench

BATON_BENCH_RUSTC=$(rustc --version)
BATON_BENCH_COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD -- 2>/dev/null || BATON_BENCH_COMMIT+="+changes"
BATON_BENCH_DATE=$(date -u +%Y-%m-%dT%H:%MZ)
export BATON_BENCH_RUSTC BATON_BENCH_COMMIT BATON_BENCH_DATE

"${CARGO_TARGET_DIR:-target}/$dir/baton-bench"
