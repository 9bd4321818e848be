#!/usr/bin/env bash
# Starts the whole platform on this machine: `just up`.
#
#   just up            foreground: logs from every component, Ctrl-C stops everything
#   just up --detach   returns once every component is healthy; `just down` stops them
#   scripts/up.sh --restart orders
#                      starts one component of a detached platform again after it died (or a
#                      chaos run killed it), with the same settings, and waits until it is healthy
#
# Each component runs as its own process, straight from target/debug, on its own SQLite file
# (PostgreSQL when DATABASE_URL or a per-component URL is set), listening on loopback. The
# development CA, baton-ca, starts first: it issues every component a short-lived X.509 SVID
# naming its SPIFFE ID and renews it at half its lifetime (BATON_SVID_LIFETIME_SECS, default an
# hour) while the platform runs. Every internal hop is mutual TLS, and the gateway serves TLS with
# a certificate from the same CA (docs/workload-identity.md). Only in lab mode, with mtls.peer_id
# switched off, does BATON_TRANSPORT=insecure-plaintext run every hop in plain HTTP and gRPC.
#
# Everything this script makes lives in .baton/ (gitignored; BATON_STATE_DIR elsewhere, as the
# chaos run does to run a platform of its own beside yours, on other ports):
#   certs/     the development CA (ca/), the trust bundle, and each component's SVID (<component>/)
#   supplier/  the fake supplier's own CA certificate, which orders trusts for it
#   data/      one SQLite file per component, and the STS's sealing key (sts-sealing.key, mode
#              600, made by the STS on its first start in development)
#   logs/      <component>.log, rewritten on every start
#   pids/      <component>.pid, what `just down` stops
#   secrets/   the gateway's client secret at the STS, generated once (mode 600)
#
# Every setting in docs/configuration.md can be overridden from the environment; a changed
# <NAME>_LISTEN also moves the matching <NAME>_ADDR unless that is set too.

set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
state_dir=${BATON_STATE_DIR:-$root/.baton}
bin_dir=${CARGO_TARGET_DIR:-$root/target}/debug
health_timeout_secs=60

# Start order matters: the CA issues every certificate first; every service fetches its
# verification keys from the STS, orders reads the supplier's CA when it starts, and the gateway
# routes to the services. The supplier is a fake third party, outside the trust domain: it makes
# its own CA and writes its certificate to $SUPPLIER_CA_FILE, which orders trusts for it.
components=(ca sts users accounts supplier orders gateway)

usage() {
    echo "usage: scripts/up.sh [--detach] | --restart sts|users|accounts|orders|gateway"
}

detach=false
restart=""
while (($# > 0)); do
    case $1 in
        --detach) detach=true ;;
        --restart)
            restart=${2:-}
            [[ $restart =~ ^(sts|users|accounts|orders|gateway)$ ]] || { usage >&2; exit 64; }
            shift
            ;;
        -h | --help) usage; exit 0 ;;
        *) echo "up.sh: unknown argument \`$1\`" >&2; usage >&2; exit 64 ;;
    esac
    shift
done

command -v curl >/dev/null || { echo "up.sh: curl is needed to wait for the components" >&2; exit 1; }

# --- configuration -------------------------------------------------------------------------------

# A laptop platform, with the demo users: every component runs in production unless told not to.
export BATON_ENV=${BATON_ENV:-development}
export STS_LISTEN=${STS_LISTEN:-127.0.0.1:8090}
export USERS_LISTEN=${USERS_LISTEN:-127.0.0.1:8091}
export ACCOUNTS_LISTEN=${ACCOUNTS_LISTEN:-127.0.0.1:8092}
export ORDERS_LISTEN=${ORDERS_LISTEN:-127.0.0.1:8093}
export GATEWAY_LISTEN=${GATEWAY_LISTEN:-127.0.0.1:8443}
export STS_ADDR=${STS_ADDR:-$STS_LISTEN}
export USERS_ADDR=${USERS_ADDR:-$USERS_LISTEN}
export ACCOUNTS_ADDR=${ACCOUNTS_ADDR:-$ACCOUNTS_LISTEN}
export ORDERS_ADDR=${ORDERS_ADDR:-$ORDERS_LISTEN}
# The fake supplier (SUPPLIER_MODE=honest by default; see docs/business-flows-and-third-parties.md).
export SUPPLIER_LISTEN=${SUPPLIER_LISTEN:-127.0.0.1:8095}
export SUPPLIER_CA_FILE=${SUPPLIER_CA_FILE:-$state_dir/supplier/ca.pem}
export ORDERS_SUPPLIER_URL=${ORDERS_SUPPLIER_URL:-https://$SUPPLIER_LISTEN}
export ORDERS_SUPPLIER_CA_FILE=${ORDERS_SUPPLIER_CA_FILE:-$SUPPLIER_CA_FILE}
export BATON_DATA_DIR=${BATON_DATA_DIR:-$state_dir/data}
# Every security event, one JSON line each, in <dir>/<component>.jsonl (see docs/observability.md).
export BATON_AUDIT_DIR=${BATON_AUDIT_DIR:-$state_dir/audit}
# Workload certificates: baton-ca writes <dir>/<component>/svid.pem (and the key and bundle),
# renews them at half their lifetime, and every component reloads them when they change.
export BATON_CERTS_DIR=${BATON_CERTS_DIR:-$state_dir/certs}
svid_lifetime_secs=${BATON_SVID_LIFETIME_SECS:-3600}
if [[ ${BATON_TRANSPORT:-mtls} == insecure-plaintext ]]; then
    scheme=http
    health_tls=()
else
    scheme=https
    # `operator` is the identity this script (and you, with curl) use to ask for /health.
    health_tls=(--cacert "$BATON_CERTS_DIR/bundle.pem"
        --cert "$BATON_CERTS_DIR/operator/svid.pem" --key "$BATON_CERTS_DIR/operator/svid_key.pem")
fi

# The address a component listens on, from its <NAME>_LISTEN variable.
listen_of() {
    local var
    var="$(echo "$1" | tr '[:lower:]' '[:upper:]')_LISTEN"
    echo "${!var}"
}

# --- helpers ------------------------------------------------------------------------------------

if [[ -t 1 && -z ${NO_COLOR:-} ]]; then
    colors=($'\033[35m' $'\033[34m' $'\033[32m' $'\033[33m' $'\033[36m' $'\033[37m')
    bold=$'\033[1m' red=$'\033[31m' reset=$'\033[0m'
else
    colors=("" "" "" "" "" "")
    bold="" red="" reset=""
fi

# Whether process $1 is running. A zombie (exited, not yet reaped) is not.
running() {
    local stat
    stat=$(ps -p "$1" -o stat= 2>/dev/null) || return 1
    [[ -n $stat && $stat != Z* ]]
}

pid_of() {
    cat "$state_dir/pids/$1.pid"
}

# Prefixes every line of stdin with a fixed-width, coloured component name.
label() {
    local tag
    tag="$2$(printf '%-8s' "$1")$reset"
    awk -v tag="$tag" '{ print tag " | " $0; fflush() }'
}

# Stops everything this script started and reaps it, so the log filters flush.
stop_all() {
    scripts/down.sh | sed 's/^/  /' || true
    wait 2>/dev/null || true
}

# Reports why component $1 failed to start, with the end of its log, and exits.
fail() {
    local name=$1 message=$2
    echo "${red}${bold}up.sh: $name $message${reset}" >&2
    echo "last lines of $state_dir/logs/$name.log:" >&2
    tail -n 20 "$state_dir/logs/$name.log" | sed 's/^/  /' >&2
    exit 1
}

# Starts component $1 in the background (arguments from $3 on), its output labelled on the
# terminal and kept in its log.
start() {
    local name=$1 color=$2 log=$state_dir/logs/$1.log
    shift 2
    # A restarted component adds to its log; a fresh start begins a new one.
    [[ -n $restart ]] || : >"$log"
    # NO_COLOR: the labels carry the colour; the logs stay plain text.
    if $detach; then
        nohup env NO_COLOR=1 "$bin_dir/baton-$name" "$@" </dev/null >>"$log" 2>&1 &
    else
        NO_COLOR=1 "$bin_dir/baton-$name" "$@" </dev/null > >(tee -a "$log" | label "$name" "$color") 2>&1 &
    fi
    echo "$!" >"$state_dir/pids/$name.pid"
}

# Waits until component $1 answers GET /health, or fails if it dies or takes too long.
wait_healthy() {
    local name=$1 addr pid deadline
    addr=$(listen_of "$name")
    pid=$(pid_of "$name")
    deadline=$((SECONDS + health_timeout_secs))
    until curl -fs -o /dev/null --max-time 1 "${health_tls[@]}" "$scheme://$addr/health"; do
        running "$pid" || fail "$name" "exited during start-up"
        ((SECONDS < deadline)) || fail "$name" "did not answer /health within ${health_timeout_secs}s"
        sleep 0.2
    done
    running "$pid" || fail "$name" "exited during start-up (is another program answering on $addr?)"
}

# Waits until the supplier has written its CA and answers GET /health over TLS verified with it.
wait_supplier() {
    local pid deadline
    pid=$(pid_of supplier)
    deadline=$((SECONDS + health_timeout_secs))
    until [[ -s $SUPPLIER_CA_FILE ]] &&
        curl -fs -o /dev/null --max-time 1 --cacert "$SUPPLIER_CA_FILE" "https://$SUPPLIER_LISTEN/health"; do
        running "$pid" || fail supplier "exited during start-up"
        ((SECONDS < deadline)) || fail supplier "did not answer /health within ${health_timeout_secs}s"
        sleep 0.2
    done
}

# The gateway authenticates to the STS with this secret when it exchanges tokens. It is drawn at
# random on the first run and kept, so restarts agree; an exported value wins.
export_gateway_secret() {
    [[ -z ${BATON_GATEWAY_CLIENT_SECRET:-} ]] || return 0
    local secret_file=$state_dir/secrets/gateway-client-secret
    if [[ ! -s $secret_file ]] || (($(wc -c <"$secret_file") < 32)); then
        (umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$secret_file")
    fi
    chmod 600 "$secret_file"
    BATON_GATEWAY_CLIENT_SECRET=$(<"$secret_file")
    export BATON_GATEWAY_CLIENT_SECRET
}

# --- one component again, in a running platform ------------------------------------------------

if [[ -n $restart ]]; then
    [[ -s $state_dir/pids/gateway.pid ]] || {
        echo "up.sh: no platform to restart $restart in: start one with \`just up --detach\`" >&2
        exit 1
    }
    if [[ -s $state_dir/pids/$restart.pid ]] && running "$(pid_of "$restart")"; then
        echo "up.sh: $restart is still running (pid $(pid_of "$restart"))" >&2
        exit 1
    fi
    detach=true
    export_gateway_secret
    start "$restart" ""
    wait_healthy "$restart"
    exit 0
fi

# --- a previous run, and ports in use ------------------------------------------------------------

shopt -s nullglob
previous=("$state_dir"/pids/*.pid)
shopt -u nullglob
if ((${#previous[@]} > 0)); then
    echo "a previous \`just up\` left pid files in $state_dir/pids; stopping it first"
    scripts/down.sh | sed 's/^/  /'
fi

for name in "${components[@]:1}"; do
    addr=$(listen_of "$name")
    rc=0
    curl -s -o /dev/null --max-time 1 "http://$addr/" || rc=$?
    # 7 is "could not connect": the port is free.
    if ((rc != 7)); then
        echo "${red}up.sh: something already listens on $addr (the $name port); stop it, or set $(echo "$name" | tr '[:lower:]' '[:upper:]')_LISTEN${reset}" >&2
        exit 1
    fi
done

# --- build, secrets, folders ---------------------------------------------------------------------

echo "${bold}building the CA, the five components and the fake supplier…${reset}"
scripts/build.sh

mkdir -p "$state_dir/data" "$state_dir/logs" "$state_dir/pids"
mkdir -p "$state_dir/secrets" && chmod 700 "$state_dir/secrets"

export_gateway_secret

# --- start ---------------------------------------------------------------------------------------

# From here on, leaving this script stops everything it started (Ctrl-C included), except after a
# successful --detach.
keep_running=false
on_exit() {
    $keep_running && return
    trap - INT TERM
    echo
    echo "${bold}stopping Baton…${reset}"
    stop_all
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Certificates left from an earlier run are about to be replaced: remove them first, so that no
# component can start on an old certificate while its new key is being written, and the wait
# below sees the fresh set. (The CA itself, under ca/, is kept: it is what curl trusts.)
for component in sts users accounts orders gateway operator; do
    rm -rf "${BATON_CERTS_DIR:?}/$component"
done
start ca "${colors[5]}" --dir "$BATON_CERTS_DIR" --trust-domain "${BATON_TRUST_DOMAIN:-baton.local}" \
    --lifetime "$svid_lifetime_secs" sts users accounts orders gateway operator
deadline=$((SECONDS + health_timeout_secs))
until [[ -s $BATON_CERTS_DIR/operator/svid.pem && -s $BATON_CERTS_DIR/bundle.pem ]]; do
    running "$(pid_of ca)" || fail ca "exited before issuing the certificates"
    ((SECONDS < deadline)) || fail ca "issued no certificates within ${health_timeout_secs}s"
    sleep 0.2
done
start sts "${colors[0]}"
wait_healthy sts
start users "${colors[1]}"
start accounts "${colors[2]}"
# A fresh CA on every start: remove the last one so orders cannot read a stale certificate.
rm -f "$SUPPLIER_CA_FILE"
start supplier "${colors[5]}"
wait_supplier
start orders "${colors[3]}"
wait_healthy users
wait_healthy accounts
wait_healthy orders
start gateway "${colors[4]}"
wait_healthy gateway

# --- tell the user what they have ----------------------------------------------------------------

gateway_url="$scheme://$GATEWAY_LISTEN"
cacert=""
[[ $scheme == https ]] && cacert="--cacert ${BATON_CERTS_DIR#"$root"/}/bundle.pem "
cat <<EOF

${bold}Baton is up${reset}: trust mode ${TRUST_MODE:-e2e}, transport ${BATON_TRANSPORT:-mtls}, data in ${BATON_DATA_DIR#"$root"/}.
  gateway   $gateway_url  (TLS from the development CA: ${BATON_CERTS_DIR#"$root"/}/bundle.pem)
  certs     ${BATON_CERTS_DIR#"$root"/}/<component>/, renewed every $((svid_lifetime_secs / 2))s
  supplier  https://$SUPPLIER_LISTEN  (a fake third party, its own CA: ${SUPPLIER_CA_FILE#"$root"/})
  logs      .baton/logs/<component>.log (BATON_LOG_FORMAT=json for JSON lines)
  audit     ${BATON_AUDIT_DIR#"$root"/}/<component>.jsonl  (every security event)

Demo users (development mode only):
  alice   alice-wonderland-42    customer, TOTP seed JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP, 1000.00 EUR
  bob     bob-builder-2024       customer, no TOTP, 500.00 EUR
  carol   carol-keeps-the-keys   admin, TOTP seed KRSXG5CTMVRXEZLUKN2XAZLSKNSWG4TF
  dave    dave-answers-the-phone support, TOTP seed MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U

Try:
  curl -s ${cacert}-H "Authorization: Bearer \$(just token alice)" $gateway_url/v1/accounts
  curl -s ${cacert}-H "Authorization: Bearer \$(just token alice)" $gateway_url/v1/users/me
  curl -s ${cacert}$gateway_url/.well-known/jwks.json

EOF
if [[ ${BATON_LAB_MODE:-off} =~ ^(on|true|1)$ ]]; then
    echo "${red}${bold}LAB MODE is on; controls switched off: ${BATON_LAB_DISABLE:-none}. Never expose this.${reset}"
    echo
fi

if $detach; then
    keep_running=true
    echo "Running in the background. Stop with: just down"
    exit 0
fi

echo "Stop with Ctrl-C."
# Stay in the foreground until Ctrl-C, or until a component dies on its own.
while true; do
    for name in "${components[@]}"; do
        if ! running "$(pid_of "$name")"; then
            echo "${red}${bold}$name exited; stopping the rest${reset}" >&2
            exit 1
        fi
    done
    # `wait` on a background sleep returns as soon as a signal arrives, so Ctrl-C acts at once.
    sleep 1 &
    wait $! || true
done
