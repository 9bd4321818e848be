#!/usr/bin/env bash
# The load test against a running gateway: `just load [GOOSE OPTIONS]`.
#
#   just load                          60 s of the default mix against `just up`'s gateway
#   just load --users 40 --run-time 2m any of Goose's options (`just load --help` lists them)
#   BATON_LOAD_WEIGHTS=browse=1,order=1,admin=0,storm=0 just load
#   BATON_GATEWAY_URL=https://gw.example BATON_CA_BUNDLE=ca.pem just load   another deployment
#
# If nothing answers at the gateway yet, this script starts the platform itself (`just up
# --detach`) with the limits a load test needs raised, and stops it again when the run ends. If a
# platform is already running, it is used as it is: start it with the settings below, or its rate
# limits (600 API requests and 30 login requests a minute per address or user) and orders' limit
# of 10 orders a minute per buyer will refuse most of the load, and the thresholds will fail.
#
# Reports: target/loadtests/report.html and report.json. Exit code: baton-load's (1 when a
# threshold failed).

set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

gateway=${BATON_GATEWAY_URL:-https://127.0.0.1:8443}
export BATON_CA_BUNDLE=${BATON_CA_BUNDLE:-.baton/certs/bundle.pem}

# What a load test needs raised: one client machine, a few demo people, thousands of requests.
load_settings=(
    GATEWAY_RATE_LIMIT_API=1000000
    GATEWAY_RATE_LIMIT_LOGIN=100000
    GATEWAY_RATE_LIMIT_CLIENT=100000
    GATEWAY_RATE_LIMIT_MACHINE=100000
    ORDERS_MAX_ORDERS_PER_WINDOW=1000000
)

for arg in "$@"; do
    if [[ $arg == -h || $arg == --help ]]; then
        scripts/build.sh && "${CARGO_TARGET_DIR:-target}/debug/baton-load" --help
        exit 0
    fi
done

scripts/build.sh

answers() {
    curl -fs -o /dev/null --max-time 2 --cacert "$BATON_CA_BUNDLE" "$gateway/health" 2>/dev/null
}

started_here=false
if answers; then
    echo "load.sh: using the platform already answering at $gateway (as it was started: see the"
    echo "         limits in scripts/load.sh if requests are refused with 429)"
elif [[ $gateway == https://127.0.0.1:8443 ]]; then
    echo "load.sh: nothing answers at $gateway; starting the platform with load-test limits:"
    echo "         ${load_settings[*]}"
    env "${load_settings[@]}" scripts/up.sh --detach >/dev/null
    started_here=true
    trap 'echo "load.sh: stopping the platform"; scripts/down.sh >/dev/null' EXIT
else
    echo "load.sh: nothing answers at $gateway/health (check BATON_GATEWAY_URL and BATON_CA_BUNDLE)" >&2
    exit 1
fi

rc=0
"${CARGO_TARGET_DIR:-target}/debug/baton-load" --host "$gateway" "$@" || rc=$?
$started_here && echo "load.sh: the platform's logs are in .baton/logs/"
exit "$rc"
