#!/usr/bin/env bash
# Schema-driven fuzzing of the platform `just up` runs: schemathesis reads the API description the
# gateway serves (/openapi.json), generates requests from it, valid and invalid, and checks every
# answer against it, with every check on. A finding is an answer the description does not allow,
# a 5xx, valid input refused or invalid input accepted.
#
#   just up --detach && just fuzz [seconds]
#
# It runs once as each demo user in BATON_FUZZ_USERS (default: bob, a customer, then carol, an
# admin, so the admin-only operations are reached as well), for `seconds` each. Installs
# schemathesis (pinned) into .baton/fuzz once. The reports (JUnit and a log per user) go to
# .baton/fuzz/report/<user>/.

set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

gateway=${BATON_GATEWAY_URL:-https://127.0.0.1:8443}
budget=${1:-180}
# A fixed seed by default, so a finding in CI is the same finding on a laptop.
seed=${BATON_FUZZ_SEED:-20261202}
version=4.32.5
venv=.baton/fuzz/venv
reports=.baton/fuzz/report

if [[ ! -x $venv/bin/schemathesis ]] || ! "$venv/bin/schemathesis" --version | grep -q "$version"; then
    echo "installing schemathesis $version into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet "schemathesis==$version"
fi

if ! curl -sf --cacert .baton/certs/bundle.pem "$gateway/health" >/dev/null; then
    echo "no platform answers at $gateway: start it with \`just up --detach\`" >&2
    exit 1
fi

# What a user may not do is refused (401/403/404, all documented), which is as much a part of the
# description as what they may.
scripts/build.sh >/dev/null
failed=()
for user in ${BATON_FUZZ_USERS:-bob carol}; do
    token=$("${CARGO_TARGET_DIR:-target}/debug/baton-login" "$user" --gateway "$gateway")
    mkdir -p "$reports/$user"
    echo "==== fuzzing as $user for ${budget}s ===="
    # 540 requests a minute stays under the gateway's 600 per source (every user here shares
    # 127.0.0.1), so each request reaches what stands behind the limit; the attacks prove the
    # limit itself. One connection per request: the fuzzer's client reuses a kept-alive connection without
    # noticing that the gateway closed it while idle (its wait for a rate limit can outlast the
    # gateway's patience), and that race is the client's, not a finding.
    if ! "$venv/bin/schemathesis" --config-file scripts/fuzz.toml run "$gateway/openapi.json" \
        --tls-verify .baton/certs/bundle.pem \
        --header "Authorization: Bearer $token" \
        --header "Connection: close" \
        --checks all \
        --max-time "$budget" \
        --rate-limit 540/m \
        --seed "$seed" \
        --generation-database none \
        --report junit --report-dir "$reports/$user" \
        --no-color \
        2>&1 | tee "$reports/$user/schemathesis.log"; then
        failed+=("$user")
    fi
done

if ((${#failed[@]})); then
    echo "findings when fuzzing as: ${failed[*]} (reports in $reports/)" >&2
    exit 1
fi
